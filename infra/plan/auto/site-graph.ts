/**
 * Which sites link to which: a greedy spanner over the sites (Althöfer et al., 1993: take
 * pairs by increasing round trip, link a pair whose best path is over its bound) with three
 * changes for this mesh:
 *
 * - A path's cost includes the local hops at both ends and at every site it crosses
 *   (layout.ts), so a link is added exactly when a real node-to-node path would miss.
 * - A link "covering" a site gives every core node of that site its own link to the other
 *   site, which saves the hop between core nodes; it is used when that hop is what misses.
 * - Sites have a capacity (how many link ends their nodes can carry within maxPeers). When
 *   a pair's own ends are full, the pair is served by the best link from one end to a
 *   neighbour of the other that still has room (the bounded-degree variant), so a full
 *   site degrades a few pairs instead of cutting them off.
 */
import { boundOf, type LatencyBound } from "./bound";

export interface SiteParams {
  code: string;
  /** The same-site round trip: the cost of one local hop. */
  localMs: number;
  /** Largest number of local hops from a node to its core. */
  depth: number;
  /** 1 when leaving the site may need a hop between core nodes. */
  switchHops: number;
  coreSize: number;
  /** Link ends to other sites the site can carry. */
  capacity: number;
}

export interface SiteEdge {
  a: number;
  b: number;
  rttMs: number;
  /** The site whose every core node gets its own link (-1: one link). */
  covered: number;
}

export interface SiteGraph {
  edges: SiteEdge[];
  /** Link ends each site carries. */
  ends: Int32Array;
}

/** Site-level adjacency with the per-edge departure saving. */
interface Adjacent {
  to: number;
  rttMs: number;
  /** True when leaving `from` over this edge needs no hop between core nodes. */
  coversFrom: boolean;
}

export function buildSiteGraph(sites: readonly SiteParams[], rtt: (i: number, j: number) => number, bound: LatencyBound): SiteGraph {
  const n = sites.length;
  const adjacency: Adjacent[][] = sites.map(() => []);
  const edges: SiteEdge[] = [];
  const ends = new Int32Array(n);

  const leave = (i: number) => (sites[i] as SiteParams).localMs * (sites[i] as SiteParams).switchHops;
  const start = (i: number) => (sites[i] as SiteParams).localMs * (sites[i] as SiteParams).depth;
  const arrive = (i: number) => (sites[i] as SiteParams).localMs * ((sites[i] as SiteParams).switchHops + (sites[i] as SiteParams).depth);

  // dist[s * n + t]: cost from s's core to t's core, counting the hop between core nodes on the
  // way out of every site left (s included) unless the link taken covers it. Directional.
  const dist = new Float64Array(n * n).fill(Infinity);
  for (let i = 0; i < n; i++) dist[i * n + i] = 0;
  const fromSite = (s: number): Float64Array => dist.subarray(s * n, (s + 1) * n);
  /** A new link x--y can only shorten paths through it: s ... x -> y ... t or s ... y -> x ... t. */
  const relax = (x: number, y: number, d: number, covered: number): void => {
    const outX = (covered === x ? 0 : leave(x)) + d;
    const outY = (covered === y ? 0 : leave(y)) + d;
    const toX = new Float64Array(n);
    const toY = new Float64Array(n);
    for (let s = 0; s < n; s++) {
      toX[s] = dist[s * n + x] as number;
      toY[s] = dist[s * n + y] as number;
    }
    const fromX = dist.slice(x * n, (x + 1) * n);
    const fromY = dist.slice(y * n, (y + 1) * n);
    for (let s = 0; s < n; s++) {
      const viaX = (toX[s] as number) + outX;
      const viaY = (toY[s] as number) + outY;
      if (viaX === Infinity && viaY === Infinity) continue;
      const row = s * n;
      for (let t = 0; t < n; t++) {
        const c = Math.min(viaX + (fromY[t] as number), viaY + (fromX[t] as number));
        if (c < (dist[row + t] as number)) dist[row + t] = c;
      }
    }
  };
  const pairCost = (i: number, j: number): number => Math.min(start(i) + (dist[i * n + j] as number) + arrive(j), start(j) + (dist[j * n + i] as number) + arrive(i));

  const room = (i: number, need: number) => (ends[i] as number) + need <= (sites[i] as SiteParams).capacity;
  const linked = (i: number, j: number) => (adjacency[i] as Adjacent[]).some((e) => e.to === j);
  const add = (i: number, j: number, covered: number): void => {
    const d = rtt(i, j);
    edges.push({ a: i, b: j, rttMs: d, covered });
    const links = covered < 0 ? 1 : (sites[covered] as SiteParams).coreSize;
    ends[i] = (ends[i] as number) + links;
    ends[j] = (ends[j] as number) + links;
    (adjacency[i] as Adjacent[]).push({ to: j, rttMs: d, coversFrom: covered === i });
    (adjacency[j] as Adjacent[]).push({ to: i, rttMs: d, coversFrom: covered === j });
    relax(i, j, d, covered);
  };

  const pairs: [number, number, number][] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push([i, j, rtt(i, j)]);
  pairs.sort((x, y) => x[2] - y[2] || x[0] - y[0] || x[1] - y[1]);

  for (const [i, j, d] of pairs) {
    const limit = boundOf(d, bound);
    const now = pairCost(i, j);
    if (now <= limit + 1e-9) continue;
    const si = sites[i] as SiteParams;
    const sj = sites[j] as SiteParams;
    // Direct options: one link, or one per core node of one side (saves that side's core hop).
    const options: { cost: number; covered: number; links: number }[] = [];
    if (!linked(i, j)) {
      options.push({ cost: arrive(i) + d + arrive(j), covered: -1, links: 1 });
      if (si.switchHops > 0) options.push({ cost: start(i) + d + arrive(j), covered: i, links: si.coreSize });
      if (sj.switchHops > 0) options.push({ cost: start(j) + d + arrive(i), covered: j, links: sj.coreSize });
    }
    const fitting = options.filter((o) => room(i, o.links) && room(j, o.links));
    const meets = fitting.filter((o) => o.cost <= limit + 1e-9).sort((x, y) => x.links - y.links || x.cost - y.cost)[0];
    if (meets) {
      add(i, j, meets.covered);
      continue;
    }
    // Through a neighbour with room: a link from one end to a site near the other.
    const via = bestDetour(i, j, limit, now);
    if (via) {
      add(via[0], via[1], -1);
      continue;
    }
    // Nothing meets the bound: still take the best direct option that helps; the plan reports the miss.
    const helps = fitting.filter((o) => o.cost < now - 1e-9).sort((x, y) => x.cost - y.cost || x.links - y.links)[0];
    if (helps) add(i, j, helps.covered);
  }
  return { edges, ends };

  /** The single link (x, j) or (i, y), both ends with room, that brings the pair within its bound (or, when cut off, closest to it). */
  function bestDetour(i: number, j: number, limit: number, now: number): [number, number] | undefined {
    let best: { cost: number; edge: [number, number] } | undefined;
    for (const [from, to] of [
      [i, j],
      [j, i],
    ] as const) {
      if (!room(to, 1)) continue;
      const dist = fromSite(from);
      for (let x = 0; x < n; x++) {
        if (x === to || !room(x, 1) || linked(x, to) || dist[x] === Infinity) continue;
        const cost = start(from) + (dist[x] as number) + (x === from ? 0 : leave(x)) + rtt(x, to) + arrive(to);
        const key = x === from ? arrive(from) - start(from) : 0;
        if (!best || cost + key < best.cost) best = { cost: cost + key, edge: [Math.min(x, to), Math.max(x, to)] };
      }
    }
    if (!best) return undefined;
    if (best.cost <= limit + 1e-9 || (now === Infinity && best.cost < Infinity)) return best.edge;
    return undefined;
  }
}
