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
  /** The single link i--j, which covering would upgrade; undefined when there is none or it covers already. */
  const single = (i: number, j: number): SiteEdge | undefined => edges.find((e) => e.covered < 0 && ((e.a === i && e.b === j) || (e.a === j && e.b === i)));
  /** Every core node of `covered` gets its own link to the other site: coreSize - 1 more link ends on each side. */
  const upgrade = (e: SiteEdge, covered: number): void => {
    const more = (sites[covered] as SiteParams).coreSize - 1;
    e.covered = covered;
    ends[e.a] = (ends[e.a] as number) + more;
    ends[e.b] = (ends[e.b] as number) + more;
    const other = covered === e.a ? e.b : e.a;
    for (const adj of adjacency[covered] as Adjacent[]) if (adj.to === other) adj.coversFrom = true;
    relax(e.a, e.b, e.rttMs, covered);
  };
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
    const existing = single(i, j);
    if (!linked(i, j) || existing) {
      // An existing single link can only be upgraded: every core node of one side gets its own.
      const have = existing ? 1 : 0;
      if (!existing) options.push({ cost: arrive(i) + d + arrive(j), covered: -1, links: 1 });
      if (si.switchHops > 0) options.push({ cost: start(i) + d + arrive(j), covered: i, links: si.coreSize - have });
      if (sj.switchHops > 0) options.push({ cost: start(j) + d + arrive(i), covered: j, links: sj.coreSize - have });
    }
    const fitting = options.filter((o) => room(i, o.links) && room(j, o.links));
    const meets = fitting.filter((o) => o.cost <= limit + 1e-9).sort((x, y) => x.links - y.links || x.cost - y.cost)[0];
    if (meets) {
      if (existing) upgrade(existing, meets.covered);
      else add(i, j, meets.covered);
      continue;
    }
    // Through a neighbour with room: a link from one end to a site near the other.
    const via = bestDetour(i, j, limit, now);
    if (via) {
      const there = single(via.edge[0], via.edge[1]);
      if (there) upgrade(there, via.covered);
      else add(via.edge[0], via.edge[1], via.covered);
      continue;
    }
    // Nothing meets the bound: still take the best direct option that helps; the plan reports the miss.
    const helps = fitting.filter((o) => o.cost < now - 1e-9).sort((x, y) => x.cost - y.cost || x.links - y.links)[0];
    if (helps && existing) upgrade(existing, helps.covered);
    else if (helps) add(i, j, helps.covered);
  }
  return { edges, ends };

  /**
   * The link (x, j) or (i, y), both ends with room, that brings the pair within its bound: one
   * link, or failing that one from every core node of x (which saves x's hop between core
   * nodes). When the pair is cut off, the one that comes closest.
   */
  function bestDetour(i: number, j: number, limit: number, now: number): { edge: [number, number]; covered: number } | undefined {
    let best: { cost: number; links: number; edge: [number, number]; covered: number } | undefined;
    const consider = (cost: number, links: number, edge: [number, number], covered: number): void => {
      const meets = cost <= limit + 1e-9;
      const bestMeets = best !== undefined && best.cost <= limit + 1e-9;
      if (!best || (meets && !bestMeets) || (meets === bestMeets && (meets ? links < best.links || (links === best.links && cost < best.cost) : cost < best.cost))) best = { cost, links, edge, covered };
    };
    for (const [from, to] of [
      [i, j],
      [j, i],
    ] as const) {
      const reach = fromSite(from);
      for (let x = 0; x < n; x++) {
        if (x === to || reach[x] === Infinity) continue;
        const edge: [number, number] = [Math.min(x, to), Math.max(x, to)];
        const tail = rtt(x, to) + arrive(to);
        const existing = linked(x, to) ? single(x, to) : undefined;
        if (linked(x, to) && !existing) continue;
        if (!existing && room(x, 1) && room(to, 1)) {
          if (x === from) consider(arrive(from) + tail, 1, edge, -1);
          else consider(start(from) + (reach[x] as number) + leave(x) + tail, 1, edge, -1);
        }
        if (x === from) continue;
        const c = (sites[x] as SiteParams).coreSize - (existing ? 1 : 0);
        if ((sites[x] as SiteParams).switchHops > 0 && room(x, c) && room(to, c)) consider(start(from) + (reach[x] as number) + tail, c, edge, x);
      }
    }
    if (!best) return undefined;
    const found = best as { cost: number; edge: [number, number]; covered: number };
    if (found.cost <= limit + 1e-9 || (now === Infinity && found.cost < Infinity)) return { edge: found.edge, covered: found.covered };
    return undefined;
  }
}
