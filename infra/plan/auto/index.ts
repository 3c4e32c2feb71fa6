/**
 * `topology: auto`: wg-mesh chooses the links. Every pair's overlay round trip should be at
 * most max(maxStretch x direct, direct + 5 ms), no node may have more than maxPeers peers,
 * only the nodes the declaration lets carry transit (hub and POPs by default; never a node
 * behind NAT) carry others' traffic, nodes behind NAT never link to each other, and the same
 * declaration always gives the same links.
 *
 * Nodes of one metro are nearly free to reach from each other (about 1 ms), so the work is
 * done on sites: each site gets a local layout (layout.ts), the sites get a spanner whose
 * costs include those layouts (site-graph.ts), and each site link is then placed on the core
 * nodes with the most room. Nodes in a site with no transit node (or no room there) attach to
 * transit nodes elsewhere, nearest first, and add links to the sites they would otherwise miss.
 * The planner then measures every pair on the real graph and reports any that miss.
 */
import type { LatencyModel } from "../../latency/model";
import type { Role } from "../../model";
import { boundOf, type LatencyBound } from "./bound";
import { interSiteCapacity, orderMembers, planLayout, type SiteLayout, type SiteMember } from "./layout";
import { connect } from "./connect";
import { misses, nodeGreedy } from "./node-greedy";
import { buildSiteGraph, type SiteGraph, type SiteParams } from "./site-graph";

export { ADDITIVE_SLACK_MS, DEFAULT_MAX_PEERS, DEFAULT_MAX_STRETCH, boundOf, withinBound, type LatencyBound } from "./bound";

export interface AutoNode {
  name: string;
  site: string;
  /** Reachable at a public endpoint. */
  public: boolean;
  /** May carry others' traffic (infra/plan/transit.ts); implies public. */
  transit: boolean;
  role: Role;
  /** Peers it already has from explicit links. */
  explicitPeers: number;
}

export interface AutoOptions {
  maxStretch: number;
  maxPeers: number;
  slackMs: number;
}

export interface AutoLink {
  a: string;
  b: string;
  rttMs: number;
}

const ROLE_RANK: Record<Role, number> = { hub: 0, pop: 1, backend: 2 };
const ROUNDS = 8;
/**
 * Up to this many nodes the greedy spanner on the nodes themselves is also run (it keeps every
 * pair's distance, n^2 work per link), and whichever link set misses fewer pairs is taken.
 */
export const NODE_LEVEL_MAX = 400;

interface Site {
  code: string;
  index: number;
  members: SiteMember[];
  localMs: number;
}

export function autoLinks(nodes: readonly AutoNode[], model: LatencyModel, opts: AutoOptions): AutoLink[] {
  const sorted = [...nodes].sort((a, b) => (a.name < b.name ? -1 : 1));
  const chosen = chooseLinks(sorted, model, opts);
  const index = new Map(sorted.map((n, i) => [n.name, i]));
  const codes = [...new Set(sorted.map((n) => n.site))].sort();
  const matrix = model.matrix(codes);
  const siteIndex = sorted.map((n) => matrix.index.get(n.site) as number);
  const rtt = (i: number, j: number): number => matrix.rtt[(siteIndex[i] as number) * matrix.size + (siteIndex[j] as number)] as number;
  const joined = connect(
    sorted.map((n) => ({ transit: n.transit, capacity: Math.max(0, opts.maxPeers - n.explicitPeers) })),
    chosen.map((l) => [index.get(l.a) as number, index.get(l.b) as number] as [number, number]),
    rtt,
  );
  return joined.map(([x, y]) => ({ a: (sorted[x] as AutoNode).name, b: (sorted[y] as AutoNode).name, rttMs: rtt(x, y) }));
}

function chooseLinks(sorted: readonly AutoNode[], model: LatencyModel, opts: AutoOptions): AutoLink[] {
  const bySites = siteLevelLinks(sorted, model, opts);
  if (sorted.length > NODE_LEVEL_MAX) return bySites;
  // Small enough to compare on every pair: the site-level design against the node-level greedy.
  const bound: LatencyBound = { maxStretch: opts.maxStretch, slackMs: opts.slackMs };
  const index = new Map(sorted.map((n, i) => [n.name, i]));
  const codes = [...new Set(sorted.map((n) => n.site))].sort();
  const matrix = model.matrix(codes);
  const siteIndex = sorted.map((n) => matrix.index.get(n.site) as number);
  const rtt = (i: number, j: number): number => matrix.rtt[(siteIndex[i] as number) * matrix.size + (siteIndex[j] as number)] as number;
  const isTransit = (i: number) => (sorted[i] as AutoNode).transit;
  const greedyNodes = sorted.map((n) => ({ public: n.public, transit: n.transit, capacity: Math.max(0, opts.maxPeers - n.explicitPeers) }));
  const sitePairs = bySites.map((l) => [index.get(l.a) as number, index.get(l.b) as number] as [number, number]);
  // Two designs, each repaired with detours where pairs still miss: the fewest misses win,
  // then the least total excess, then the fewest links.
  const candidates = [nodeGreedy(greedyNodes, rtt, bound, sitePairs), nodeGreedy(greedyNodes, rtt, bound)].map((links) => ({ links, ...misses(sorted.length, isTransit, links, rtt, bound) }));
  const best = candidates.reduce((a, b) =>
    b.count < a.count || (b.count === a.count && (b.excessMs < a.excessMs - 1e-6 || (Math.abs(b.excessMs - a.excessMs) <= 1e-6 && b.links.length < a.links.length))) ? b : a,
  );
  return best.links.map(([x, y]) => ({ a: (sorted[x] as AutoNode).name, b: (sorted[y] as AutoNode).name, rttMs: rtt(x, y) }));
}

/** The design for any size: local layouts per site and a spanner over the sites. */
function siteLevelLinks(nodes: readonly AutoNode[], model: LatencyModel, opts: AutoOptions): AutoLink[] {
  const bound: LatencyBound = { maxStretch: opts.maxStretch, slackMs: opts.slackMs };
  const codes = [...new Set(nodes.map((n) => n.site))].sort();
  const matrix = model.matrix(codes);
  const rtt = (i: number, j: number): number => {
    const ms = matrix.rtt[i * matrix.size + j] as number;
    if (Number.isNaN(ms)) throw new Error(`auto: no round trip between ${codes[i]} and ${codes[j]}`);
    return ms;
  };
  const sites: Site[] = codes.map((code, index) => ({ code, index, members: [], localMs: rtt(index, index) }));
  const siteOf = new Map<string, Site>();
  for (const n of [...nodes].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const site = sites[matrix.index.get(n.site) as number] as Site;
    site.members.push({ name: n.name, transit: n.transit, roleRank: ROLE_RANK[n.role], capacity: Math.max(0, opts.maxPeers - n.explicitPeers) });
    siteOf.set(n.name, site);
  }
  const hubSites = sites.filter((s) => s.members.some((m) => m.transit));
  const rttHub = (i: number, j: number) => rtt((hubSites[i] as Site).index, (hubSites[j] as Site).index);
  const capacity = hubSites.map((s) => interSiteCapacity(s.members));

  // Layouts depend on how many site link ends a site carries, and the site graph on the layouts'
  // local hops and core sizes: iterate until every site's layout reserves room for the ends the
  // graph built on it uses. Reservations and local hops only grow, so this settles.
  let reserve: Int32Array = new Int32Array(hubSites.length);
  let overhead = hubSites.map(() => ({ depth: 0, switchHops: 0 }));
  let graph: SiteGraph = { edges: [], ends: reserve };
  let layouts: SiteLayout[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    layouts = hubSites.map((s, i) => planLayout(s.members, reserve[i] as number));
    overhead = layouts.map((l, i) => ({ depth: Math.max(l.depth, (overhead[i] as { depth: number }).depth), switchHops: Math.max(l.switchHops, (overhead[i] as { switchHops: number }).switchHops) }));
    const params: SiteParams[] = hubSites.map((s, i) => ({
      code: s.code,
      localMs: s.localMs,
      depth: (overhead[i] as { depth: number }).depth,
      switchHops: (overhead[i] as { switchHops: number }).switchHops,
      coreSize: (layouts[i] as SiteLayout).core.length,
      capacity: capacity[i] as number,
    }));
    graph = buildSiteGraph(params, rttHub, bound);
    if (graph.ends.every((e, i) => e <= (reserve[i] as number))) break;
    reserve = reserve.map((r, i) => Math.max(r, graph.ends[i] as number));
  }

  const links = new Links(rtt, siteOf);
  const placed = new Map<string, { site: Site; depth: number; core: boolean }>();
  const free = new Map<string, number>();
  for (const s of sites) for (const m of s.members) free.set(m.name, m.capacity);
  const take = (name: string) => free.set(name, (free.get(name) as number) - 1);
  const roomOf = (name: string) => free.get(name) as number;
  /** The member of `candidates` with the most room left (first in order on ties), or undefined when none has any. */
  const roomiest = (candidates: readonly SiteMember[], reserve = 0): SiteMember | undefined => {
    let best: SiteMember | undefined;
    for (const m of candidates) if (roomOf(m.name) > reserve && (!best || roomOf(m.name) > roomOf(best.name))) best = m;
    return best;
  };

  // Cores: a clique each.
  hubSites.forEach((s, i) => {
    const core = (layouts[i] as SiteLayout).core;
    for (const m of core) placed.set(m.name, { site: s, depth: 0, core: true });
    for (let x = 0; x < core.length; x++) {
      for (let y = x + 1; y < core.length; y++) {
        links.add((core[x] as SiteMember).name, (core[y] as SiteMember).name);
        take((core[x] as SiteMember).name);
        take((core[y] as SiteMember).name);
      }
    }
  });
  // Site links on the core nodes with the most room, in the order the spanner chose them.
  for (const e of graph.edges) {
    const sa = layouts[e.a] as SiteLayout;
    const sb = layouts[e.b] as SiteLayout;
    const pairs: [SiteMember[], SiteMember[]][] =
      e.covered < 0 ? [[sa.core, sb.core]] : (e.covered === e.a ? sa.core : sb.core).map((m) => (e.covered === e.a ? [[m], sb.core] : [[m], sa.core]) as [SiteMember[], SiteMember[]]);
    for (const [from, to] of pairs) {
      const x = roomiest(from);
      const y = roomiest(to.filter((m) => x === undefined || !links.has(x.name, m.name)));
      if (!x || !y) continue; // out of room: the plan reports the pairs this costs
      links.add(x.name, y.name);
      take(x.name);
      take(y.name);
    }
  }
  // Everyone else in the site: under the core, and under transit depth-1 nodes when the core is full.
  const homeless: SiteMember[] = [];
  hubSites.forEach((s, i) => {
    const core = (layouts[i] as SiteLayout).core;
    const coreNames = new Set(core.map((m) => m.name));
    const { carriers, leaves } = orderMembers(s.members);
    const rest = [...carriers.filter((m) => !coreNames.has(m.name)), ...leaves];
    const coreRoom = core.reduce((sum, m) => sum + Math.max(0, roomOf(m.name)), 0);
    // As in planLayout: the fewest transit aggregators that make everyone fit.
    const aggregators: SiteMember[] = [];
    if (rest.length > coreRoom) {
      let under = 0;
      for (const m of rest) {
        if (coreRoom + under >= rest.length || aggregators.length >= coreRoom) break;
        if (!m.transit) continue;
        aggregators.push(m);
        under += m.capacity - 1;
      }
    }
    const atDepthOne: SiteMember[] = [];
    for (const m of [...aggregators, ...rest.filter((r) => !aggregators.includes(r))]) {
      const parent = roomiest(core);
      if (!parent) break;
      links.add(parent.name, m.name);
      take(parent.name);
      take(m.name);
      placed.set(m.name, { site: s, depth: 1, core: false });
      atDepthOne.push(m);
    }
    for (const m of rest) {
      if (placed.has(m.name)) continue;
      const parent = roomiest(aggregators);
      if (!parent) {
        homeless.push(m);
        continue;
      }
      links.add(parent.name, m.name);
      take(parent.name);
      take(m.name);
      placed.set(m.name, { site: s, depth: 2, core: false });
    }
  });

  // Nodes with no transit node at their site (or no room there): attach to the nearest transit
  // nodes with room, then to each site they would still miss, nearest first.
  const hubIndex = new Map(hubSites.map((s, i) => [s.code, i]));
  // Only nodes with no place in their own site need these, so they are worked out on first use.
  const siteDist: Float64Array[] = [];
  const distFrom = (i: number): Float64Array => (siteDist[i] ??= siteDistances(i, graph, hubSites.length, overhead, hubSites));
  const carrierNames = new Set(nodes.filter((n) => n.transit).map((n) => n.name));
  const carriersPlaced = [...placed.entries()].filter(([name]) => carrierNames.has(name)).map(([name, at]) => ({ name, ...at }));
  for (const s of sites) for (const m of s.members) if (!placed.has(m.name) && !homeless.includes(m)) homeless.push(m);
  for (const m of homeless.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const home = siteOf.get(m.name) as Site;
    const reach = (p: { name: string; site: Site; depth: number }, target: number): number => {
      const via = hubIndex.get(p.site.code) as number;
      const o = overhead[via] as { depth: number; switchHops: number };
      const t = overhead[target] as { depth: number; switchHops: number };
      const local = p.site.localMs;
      return rtt(home.index, p.site.index) + local * (p.depth + o.switchHops) + (distFrom(via)[target] as number) + (hubSites[target] as Site).localMs * (t.switchHops + t.depth);
    };
    const attached: typeof carriersPlaced = [];
    const attach = (candidates: typeof carriersPlaced): boolean => {
      let best: (typeof carriersPlaced)[0] | undefined;
      let bestCost = Infinity;
      for (const p of candidates) {
        if (roomOf(p.name) <= 0 || links.has(m.name, p.name)) continue;
        const cost = rtt(home.index, p.site.index) + p.site.localMs * p.depth;
        if (cost < bestCost || (cost === bestCost && best && p.name < best.name)) [best, bestCost] = [p, cost];
      }
      if (!best || roomOf(m.name) <= 0) return false;
      links.add(m.name, best.name);
      take(m.name);
      take(best.name);
      attached.push(best);
      return true;
    };
    if (!attach(carriersPlaced)) continue;
    const targets = hubSites.map((_, i) => i).sort((x, y) => rtt(home.index, (hubSites[x] as Site).index) - rtt(home.index, (hubSites[y] as Site).index) || x - y);
    for (const target of targets) {
      if (roomOf(m.name) <= 0) break;
      const direct = rtt(home.index, (hubSites[target] as Site).index);
      const best = Math.min(...attached.map((p) => reach(p, target)));
      if (best > boundOf(direct, bound) + 1e-9) attach(carriersPlaced.filter((p) => p.site === hubSites[target]));
    }
  }
  return links.list();
}

/** Costs between site cores over the final site graph, with the hop between core nodes when leaving a site. */
function siteDistances(from: number, graph: SiteGraph, n: number, overhead: readonly { switchHops: number }[], sites: readonly Site[]): Float64Array {
  const adjacency: { to: number; rttMs: number; coversFrom: boolean }[][] = Array.from({ length: n }, () => []);
  for (const e of graph.edges) {
    (adjacency[e.a] as { to: number; rttMs: number; coversFrom: boolean }[]).push({ to: e.b, rttMs: e.rttMs, coversFrom: e.covered === e.a });
    (adjacency[e.b] as { to: number; rttMs: number; coversFrom: boolean }[]).push({ to: e.a, rttMs: e.rttMs, coversFrom: e.covered === e.b });
  }
  const dist = new Float64Array(n).fill(Infinity);
  const done = new Uint8Array(n);
  dist[from] = 0;
  for (;;) {
    let u = -1;
    for (let v = 0; v < n; v++) if (!done[v] && (u < 0 || (dist[v] as number) < (dist[u] as number))) u = v;
    if (u < 0 || dist[u] === Infinity) break;
    done[u] = 1;
    const leave = (sites[u] as Site).localMs * ((overhead[u] as { switchHops: number }).switchHops);
    for (const e of adjacency[u] ?? []) {
      const cand = (dist[u] as number) + (e.coversFrom ? 0 : leave) + e.rttMs;
      if (cand < (dist[e.to] as number)) dist[e.to] = cand;
    }
  }
  return dist;
}

/** Links as they are added, each once. */
class Links {
  private readonly byId = new Map<string, AutoLink>();
  constructor(
    private readonly rtt: (i: number, j: number) => number,
    private readonly siteOf: ReadonlyMap<string, Site>,
  ) {}
  has(a: string, b: string): boolean {
    return this.byId.has(a < b ? `${a}--${b}` : `${b}--${a}`);
  }
  add(a: string, b: string): void {
    if (a === b || this.has(a, b)) return;
    const [x, y] = a < b ? [a, b] : [b, a];
    const rttMs = this.rtt((this.siteOf.get(x) as Site).index, (this.siteOf.get(y) as Site).index);
    this.byId.set(`${x}--${y}`, { a: x, b: y, rttMs });
  }
  list(): AutoLink[] {
    return [...this.byId.values()];
  }
}
