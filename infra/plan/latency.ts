/**
 * The planned paths' expected round trips: each path's links summed from the latency model,
 * against the direct round trip of its two ends. Walked source by source over the next-hop
 * table, each source's paths forming a tree (every piece of a path is the path between its
 * ends), so a pair costs one addition and nothing per pair is kept but the summary.
 */
import type { LatencyModel, SiteMatrix } from "../latency/model";
import type { LatencyReport, PairLatency, PlannedRoutes } from "../model";
import { boundOf, type LatencyBound } from "./auto/bound";

/** The most stretched pairs the report names. */
export const WORST_LISTED = 10;
/** Pairs over the bound the report names (it counts them all). */
export const MISSES_LISTED = 50;
const BIN = 0.001;
const BINS = 20_000;

interface Sited {
  name: string;
  site: string;
}

/** Site of every routed node, as an index into a site matrix. */
export interface RouteSites {
  matrix: SiteMatrix;
  /** siteOf[routeIndex] = index into matrix. */
  siteOf: Int32Array;
}

export function routeSites(nodes: readonly Sited[], routes: PlannedRoutes, model: LatencyModel): RouteSites {
  const codes = [...new Set(nodes.map((n) => n.site))].sort();
  const matrix = model.matrix(codes);
  const siteOf = new Int32Array(routes.names.length);
  for (const n of nodes) {
    const i = routes.indexOf(n.name);
    if (i !== undefined) siteOf[i] = matrix.index.get(n.site) as number;
  }
  return { matrix, siteOf };
}

export function directMs(sites: RouteSites, a: number, b: number): number {
  const { matrix, siteOf } = sites;
  return matrix.rtt[(siteOf[a] as number) * matrix.size + (siteOf[b] as number)] as number;
}

/**
 * Round trips of every path from `source` into `out` (NaN where a link's sites are unknown or
 * the destination is unreachable). `out[source]` is 0.
 */
export function pathRttsFrom(source: number, routes: PlannedRoutes, sites: RouteSites, out: Float64Array, stack: Int32Array): void {
  const n = routes.names.length;
  const next = routes.table();
  const { matrix, siteOf } = sites;
  const size = matrix.size;
  const rtt = matrix.rtt;
  out.fill(-1);
  out[source] = 0;
  for (let d = 0; d < n; d++) {
    const known = out[d] as number;
    if (known >= 0 || known !== known) continue;
    let depth = 0;
    let x = d;
    // Up the tree towards the source: x's next hop to the source is its parent in source's tree.
    for (;;) {
      const v = out[x] as number;
      if (v >= 0 || v !== v) break;
      stack[depth++] = x;
      x = next[x * n + source] as number;
      if (x < 0) break;
    }
    let base = x < 0 ? NaN : (out[x] as number);
    let parent = x;
    while (depth > 0) {
      const y = stack[--depth] as number;
      base = parent < 0 ? NaN : base + (rtt[(siteOf[y] as number) * size + (siteOf[parent] as number)] as number);
      out[y] = base;
      parent = y;
    }
  }
}

export function latencyReport(nodes: readonly Sited[], routes: PlannedRoutes, model: LatencyModel, bound: LatencyBound): LatencyReport | undefined {
  const n = routes.names.length;
  const sites = routeSites(nodes, routes, model);
  const histogram = new Uint32Array(BINS + 1);
  const worst: { s: number; d: number; stretch: number; pathMs: number; directMs: number; used: number }[] = [];
  const missed: { s: number; d: number; excess: number; stretch: number; pathMs: number; directMs: number }[] = [];
  let pairs = 0;
  let unknown = 0;
  let aboveTwice = 0;
  let inBound = 0;
  let misses = 0;
  let max = 0;
  const row = new Float64Array(n);
  const stack = new Int32Array(n);
  // Per site pair: the direct round trip and its bound in whole microseconds, as withinBound compares them.
  const { matrix, siteOf } = sites;
  const sizes = matrix.size;
  const boundUs = matrix.rtt.map((ms) => (Number.isNaN(ms) ? NaN : Math.round(boundOf(ms, bound) * 1000)));
  for (let s = 0; s < n; s++) {
    pathRttsFrom(s, routes, sites, row, stack);
    const base = (siteOf[s] as number) * sizes;
    for (let d = 0; d < n; d++) {
      if (d === s) continue;
      const pathMs = row[d] as number;
      const at = base + (siteOf[d] as number);
      const direct = matrix.rtt[at] as number;
      if (pathMs !== pathMs || direct !== direct) {
        unknown++;
        continue;
      }
      pairs++;
      const stretch = pathMs / direct;
      histogram[Math.min(BINS, Math.floor(stretch / BIN))]++;
      if (stretch > max) max = stretch;
      if (stretch > 2) aboveTwice++;
      if (Math.round(pathMs * 1000) <= (boundUs[at] as number)) inBound++;
      else {
        misses++;
        keepTop(missed, { s, d, excess: pathMs - boundOf(direct, bound), stretch, pathMs, directMs: direct }, MISSES_LISTED, (x) => x.excess);
      }
      // Worst = most of its allowance used: a 3 ms path between two nodes 1 ms apart is fine, a 161 ms one 20 ms apart is not.
      const used = (pathMs * 1000) / (boundUs[at] as number);
      if (worst.length < WORST_LISTED || used > (worst[worst.length - 1] as { used: number }).used) keepTop(worst, { s, d, stretch, pathMs, directMs: direct, used }, WORST_LISTED, (x) => x.used);
    }
  }
  if (pairs === 0) return undefined;
  const describe = (x: { s: number; d: number; pathMs: number; directMs: number; stretch: number }): PairLatency => {
    const from = routes.names[x.s] as string;
    const to = routes.names[x.d] as string;
    return { from, to, path: routes.pathOf(from, to) ?? [], pathMs: round(x.pathMs), directMs: x.directMs, stretch: x.stretch, boundMs: round(boundOf(x.directMs, bound)) };
  };
  return {
    pairs,
    unknown,
    stretch: { median: Math.min(max, quantile(histogram, pairs, 0.5)), p90: Math.min(max, quantile(histogram, pairs, 0.9)), p99: Math.min(max, quantile(histogram, pairs, 0.99)), max },
    aboveTwice,
    withinBound: inBound,
    bound: { maxStretch: bound.maxStretch, slackMs: bound.slackMs },
    worst: worst.map(describe),
    missed: missed.map(describe),
    misses,
    sources: directSources(nodes, model),
  };
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

/** Keeps the `limit` largest by key, largest first; equal keys keep the earlier pair. */
function keepTop<T>(list: T[], item: T, limit: number, key: (x: T) => number): void {
  const k = key(item);
  if (list.length >= limit && k <= key(list[list.length - 1] as T)) return;
  let i = list.length;
  while (i > 0 && key(list[i - 1] as T) < k) i--;
  list.splice(i, 0, item);
  if (list.length > limit) list.pop();
}

/** Upper edge of the bin holding the q-quantile, so to within 0.001. */
function quantile(histogram: Uint32Array, total: number, q: number): number {
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i] as number;
    if (seen >= rank) return Math.round((i + 1) * BIN * 1000) / 1000;
  }
  return Infinity;
}

/** Ordered node pairs by where their direct round trip comes from. */
function directSources(nodes: readonly Sited[], model: LatencyModel): Record<string, number> {
  const count = new Map<string, number>();
  for (const n of nodes) count.set(n.site, (count.get(n.site) ?? 0) + 1);
  const codes = [...count.keys()].sort();
  const out: Record<string, number> = {};
  for (let i = 0; i < codes.length; i++) {
    for (let j = i; j < codes.length; j++) {
      const a = codes[i] as string;
      const b = codes[j] as string;
      const ca = count.get(a) as number;
      const cb = count.get(b) as number;
      const ordered = a === b ? ca * (ca - 1) : 2 * ca * cb;
      if (ordered === 0) continue;
      const source = model.rtt(a, b)?.source ?? "unknown";
      out[source] = (out[source] ?? 0) + ordered;
    }
  }
  return out;
}

/** One pair's planned path and round trips, for listing pairs. */
export function pairLatency(routes: PlannedRoutes, sites: RouteSites, bound: LatencyBound, from: string, to: string): PairLatency | undefined {
  const path = routes.pathOf(from, to);
  if (!path) return undefined;
  let pathMs = 0;
  for (let i = 1; i < path.length; i++) pathMs += directMs(sites, routes.indexOf(path[i - 1] as string) as number, routes.indexOf(path[i] as string) as number);
  const direct = directMs(sites, routes.indexOf(from) as number, routes.indexOf(to) as number);
  if (Number.isNaN(pathMs) || Number.isNaN(direct)) return undefined;
  return { from, to, path, pathMs: round(pathMs), directMs: direct, stretch: pathMs / direct, boundMs: round(boundOf(direct, bound)) };
}
