/**
 * Shortest paths over the link graph with a tie-break that makes every chosen path
 * unique. Uniqueness is what WireGuard needs: each hop forwards by destination, and
 * each receiver checks the source against the peer it came from, so the path from b
 * to a must be exactly the reverse of a to b, and every piece of a chosen path must
 * itself be the chosen path between its ends.
 *
 * Paths are ordered by (cost, hops, edge set), where of two edge sets the one holding
 * the smallest edge of their symmetric difference wins. That order is total on simple
 * paths, blind to direction, and preserved when both paths are extended by the same
 * edge, so Dijkstra finds the unique minimum and all the properties above hold.
 */
import { toFixedCost } from "./weights";

export interface GraphEdge {
  a: string;
  b: string;
  weight: number;
}

export interface AllPairsPaths {
  names: string[];
  /** nextHop[s][d] = index of the neighbour s forwards to for d; -1 when unreachable; s itself when d === s. */
  nextHop: Int32Array[];
  /** dist[s][d] in fixed-point cost units; Infinity when unreachable. */
  dist: Float64Array[];
  pathOf(src: string, dst: string): string[] | undefined;
}

interface Adjacent {
  to: number;
  cost: number;
  edge: number;
}

class MinHeap {
  private items: { key0: number; key1: number; node: number }[] = [];
  get size(): number {
    return this.items.length;
  }
  push(key0: number, key1: number, node: number): void {
    const items = this.items;
    items.push({ key0, key1, node });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      [items[i], items[parent]] = [items[parent] as (typeof items)[0], items[i] as (typeof items)[0]];
      i = parent;
    }
  }
  pop(): { key0: number; key1: number; node: number } {
    const items = this.items;
    const top = items[0] as (typeof items)[0];
    const last = items.pop() as (typeof items)[0];
    if (items.length > 0) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.less(l, m)) m = l;
        if (r < items.length && this.less(r, m)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m] as (typeof items)[0], items[i] as (typeof items)[0]];
        i = m;
      }
    }
    return top;
  }
  private less(i: number, j: number): boolean {
    const a = this.items[i] as { key0: number; key1: number };
    const b = this.items[j] as { key0: number; key1: number };
    return a.key0 < b.key0 || (a.key0 === b.key0 && a.key1 < b.key1);
  }
}

/**
 * `mayTransit(name)`: whether paths may cross the node (it may always be an end). Leaving a node
 * out of every path's interior keeps all the properties above: the order on paths is the same,
 * only the candidate set shrinks, and a piece of an allowed path is itself allowed.
 */
export function allPairsShortestPaths(nodeNames: readonly string[], edges: readonly GraphEdge[], mayTransit: (name: string) => boolean = () => true): AllPairsPaths {
  const names = [...nodeNames].sort();
  const index = new Map(names.map((n, i) => [n, i]));
  // Edge numbers follow the sorted edge ids, so the tie-break is independent of input order.
  const sortedEdges = edges
    .map((e) => {
      const ia = index.get(e.a);
      const ib = index.get(e.b);
      if (ia === undefined || ib === undefined) throw new Error(`edge ${e.a}--${e.b} names an unknown node`);
      return { lo: Math.min(ia, ib), hi: Math.max(ia, ib), cost: toFixedCost(e.weight) };
    })
    .sort((x, y) => x.lo - y.lo || x.hi - y.hi);
  const adjacency: Adjacent[][] = names.map(() => []);
  sortedEdges.forEach((e, edge) => {
    if (e.cost <= 0) throw new Error(`link ${names[e.lo]}--${names[e.hi]} needs a positive weight`);
    (adjacency[e.lo] as Adjacent[]).push({ to: e.hi, cost: e.cost, edge });
    (adjacency[e.hi] as Adjacent[]).push({ to: e.lo, cost: e.cost, edge });
  });

  const n = names.length;
  const transit = Uint8Array.from(names, (name) => (mayTransit(name) ? 1 : 0));
  const nextHop: Int32Array[] = [];
  const dist: Float64Array[] = [];
  for (let s = 0; s < n; s++) {
    const { d, pred } = dijkstra(s, n, adjacency, transit);
    dist.push(d);
    nextHop.push(firstHops(s, pred));
  }

  const pathOf = (src: string, dst: string): string[] | undefined => {
    const s = index.get(src);
    const d = index.get(dst);
    if (s === undefined || d === undefined) return undefined;
    const path = [src];
    let at = s;
    while (at !== d) {
      const hop = (nextHop[at] as Int32Array)[d] as number;
      if (hop < 0) return undefined;
      path.push(names[hop] as string);
      at = hop;
    }
    return path;
  };
  return { names, nextHop, dist, pathOf };
}

function dijkstra(source: number, n: number, adjacency: Adjacent[][], transit: Uint8Array): { d: Float64Array; pred: Int32Array } {
  const d = new Float64Array(n).fill(Infinity);
  const hops = new Int32Array(n).fill(-1);
  const pred = new Int32Array(n).fill(-1);
  const predEdge = new Int32Array(n).fill(-1);
  const done = new Uint8Array(n);
  d[source] = 0;
  hops[source] = 0;
  const heap = new MinHeap();
  heap.push(0, 0, source);
  while (heap.size > 0) {
    const { key0, key1, node: u } = heap.pop();
    if (done[u] || key0 !== d[u] || key1 !== hops[u]) continue;
    done[u] = 1;
    if (u !== source && !transit[u]) continue; // reached, but nothing goes on through it
    for (const { to: v, cost, edge } of adjacency[u] as Adjacent[]) {
      if (done[v]) continue;
      const cand = (d[u] as number) + cost;
      const candHops = (hops[u] as number) + 1;
      const better =
        cand < (d[v] as number) ||
        (cand === d[v] && candHops < (hops[v] as number)) ||
        (cand === d[v] && candHops === hops[v] && edgeSetWins(u, edge, v, pred, predEdge));
      if (better) {
        d[v] = cand;
        hops[v] = candHops;
        pred[v] = u;
        predEdge[v] = edge;
        heap.push(cand, candHops, v);
      }
    }
  }
  return { d, pred };
}


/** Does (path to u) + edge beat v's current path, by the smallest edge of their symmetric difference? */
function edgeSetWins(u: number, edge: number, v: number, pred: Int32Array, predEdge: Int32Array): boolean {
  const candidate = new Set<number>([edge]);
  for (let at = u; pred[at] !== -1; at = pred[at] as number) candidate.add(predEdge[at] as number);
  const current = new Set<number>();
  for (let at = v; pred[at] !== -1; at = pred[at] as number) current.add(predEdge[at] as number);
  let smallest = Infinity;
  let winner = false;
  for (const e of candidate) if (!current.has(e) && e < smallest) [smallest, winner] = [e, true];
  for (const e of current) if (!candidate.has(e) && e < smallest) [smallest, winner] = [e, false];
  return winner;
}

/** From a predecessor tree rooted at s, the first hop from s towards every node. */
function firstHops(s: number, pred: Int32Array): Int32Array {
  const n = pred.length;
  const first = new Int32Array(n).fill(-2);
  first[s] = s;
  const resolve = (v: number): number => {
    const known = first[v] as number;
    if (known !== -2) return known;
    const p = pred[v] as number;
    const hop = p === -1 ? -1 : p === s ? v : resolve(p);
    first[v] = hop;
    return hop;
  };
  for (let v = 0; v < n; v++) resolve(v);
  return first;
}
