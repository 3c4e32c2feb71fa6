/**
 * The baseline `topology: auto` is measured against: the greedy spanner (Althöfer et al., 1993)
 * on the nodes themselves, under the same bound, rules and model. Pairs are taken by increasing
 * round trip and a pair whose best path is over its bound gets a direct link. "plain" ignores
 * maxPeers (the textbook algorithm); "capped" is its bounded-degree variant, which skips a link
 * when either end is full. Nodes behind NAT are never linked to each other, and only nodes that
 * may carry transit (infra/plan/transit.ts) are ever inside a path, as in the planner. Distances are kept as a full matrix and updated per added
 * link, so this is for meshes of a few hundred nodes.
 */
import type { LatencyModel } from "../infra/latency/model";
import { boundOf, type LatencyBound } from "../infra/plan/auto/bound";

export interface SpannerNode {
  name: string;
  site: string;
  /** Reachable at a public endpoint: a link needs one such end. */
  public: boolean;
  /** May carry others' traffic. */
  transit: boolean;
}

export interface SpannerLink {
  a: string;
  b: string;
  rttMs: number;
}

export function greedySpanner(nodes: readonly SpannerNode[], model: LatencyModel, bound: LatencyBound, maxPeers: number | undefined): SpannerLink[] {
  const n = nodes.length;
  const codes = [...new Set(nodes.map((x) => x.site))].sort();
  const m = model.matrix(codes);
  const site = nodes.map((x) => m.index.get(x.site) as number);
  const direct = (i: number, j: number) => m.rtt[(site[i] as number) * m.size + (site[j] as number)] as number;
  const dist = new Float64Array(n * n).fill(Infinity);
  for (let i = 0; i < n; i++) dist[i * n + i] = 0;
  const degree = new Int32Array(n);
  const links: SpannerLink[] = [];
  const pairs: [number, number, number][] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push([i, j, direct(i, j)]);
  pairs.sort((x, y) => x[2] - y[2] || x[0] - y[0] || x[1] - y[1]);
  const colX = new Float64Array(n);
  const colY = new Float64Array(n);
  for (const [i, j, d] of pairs) {
    if ((dist[i * n + j] as number) <= boundOf(d, bound) + 1e-9) continue;
    if (!(nodes[i] as SpannerNode).public && !(nodes[j] as SpannerNode).public) continue;
    if (maxPeers !== undefined && ((degree[i] as number) >= maxPeers || (degree[j] as number) >= maxPeers)) continue;
    links.push({ a: (nodes[i] as SpannerNode).name, b: (nodes[j] as SpannerNode).name, rttMs: d });
    degree[i]++;
    degree[j]++;
    // Paths through the new link: s ... i - j ... t, with i (j) interior unless it is s (t); only transit nodes are ever interior.
    for (let s = 0; s < n; s++) {
      colX[s] = s === i || (nodes[i] as SpannerNode).transit ? (dist[s * n + i] as number) : Infinity;
      colY[s] = s === j || (nodes[j] as SpannerNode).transit ? (dist[s * n + j] as number) : Infinity;
    }
    const rowI = dist.slice(i * n, (i + 1) * n);
    const rowJ = dist.slice(j * n, (j + 1) * n);
    for (let s = 0; s < n; s++) {
      const viaI = (colX[s] as number) + d;
      const viaJ = (colY[s] as number) + d;
      if (viaI === Infinity && viaJ === Infinity) continue;
      for (let t = 0; t < n; t++) {
        const tj = t === j || (nodes[j] as SpannerNode).transit ? (rowJ[t] as number) : Infinity;
        const ti = t === i || (nodes[i] as SpannerNode).transit ? (rowI[t] as number) : Infinity;
        const c = Math.min(viaI + tj, viaJ + ti);
        if (c < (dist[s * n + t] as number)) dist[s * n + t] = c;
      }
    }
  }
  return links;
}
