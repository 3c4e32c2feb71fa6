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
 *
 * Nodes that must not carry others' traffic (behind NAT) are path ends only: Dijkstra never
 * leaves them except from the source. Paths avoiding them as interior nodes are closed under
 * taking pieces and under reversal, so the properties hold for that family too.
 *
 * Only the first hop of every pair is kept (n^2 32-bit integers); a path is walked from it.
 */
import { toFixedCost } from "./weights";

export interface GraphEdge {
  a: string;
  b: string;
  weight: number;
}

export interface AllPairsPaths {
  /** Sorted node names; indices below are into this list. */
  names: string[];
  index: ReadonlyMap<string, number>;
  /** nextHop[s * n + d] = index of the neighbour s forwards to for d; -1 when unreachable; s itself when d === s. */
  nextHop: Int32Array;
  pathOf(src: string, dst: string): string[] | undefined;
}

export interface PathOptions {
  /** Nodes that may be a path's end but never its interior. */
  noTransit?: ReadonlySet<string>;
}

/** A binary min-heap on (cost, hops) over preallocated typed arrays; stale entries are skipped by the caller. */
class Heap {
  size = 0;
  constructor(
    private cost: Float64Array,
    private hops: Int32Array,
    private node: Int32Array,
  ) {}
  static withCapacity(n: number): Heap {
    return new Heap(new Float64Array(n), new Int32Array(n), new Int32Array(n));
  }
  private less(i: number, j: number): boolean {
    const ci = this.cost[i] as number;
    const cj = this.cost[j] as number;
    return ci < cj || (ci === cj && (this.hops[i] as number) < (this.hops[j] as number));
  }
  private swap(i: number, j: number): void {
    const c = this.cost[i] as number;
    this.cost[i] = this.cost[j] as number;
    this.cost[j] = c;
    const h = this.hops[i] as number;
    this.hops[i] = this.hops[j] as number;
    this.hops[j] = h;
    const v = this.node[i] as number;
    this.node[i] = this.node[j] as number;
    this.node[j] = v;
  }
  push(cost: number, hops: number, node: number): void {
    if (this.size === this.cost.length) {
      const grow = (a: Float64Array | Int32Array) => {
        const b = new (a.constructor as typeof Float64Array)(a.length * 2);
        b.set(a);
        return b;
      };
      this.cost = grow(this.cost) as Float64Array;
      this.hops = grow(this.hops) as unknown as Int32Array;
      this.node = grow(this.node) as unknown as Int32Array;
    }
    let i = this.size++;
    this.cost[i] = cost;
    this.hops[i] = hops;
    this.node[i] = node;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }
  /** Removes the top; read topCost/topHops/topNode first. */
  pop(): void {
    const last = --this.size;
    if (last === 0) return;
    this.cost[0] = this.cost[last] as number;
    this.hops[0] = this.hops[last] as number;
    this.node[0] = this.node[last] as number;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < last && this.less(l, m)) m = l;
      if (r < last && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
  get topCost(): number {
    return this.cost[0] as number;
  }
  get topHops(): number {
    return this.hops[0] as number;
  }
  get topNode(): number {
    return this.node[0] as number;
  }
}

/** Adjacency in compressed rows: neighbours of v are at [start[v], start[v + 1]). */
interface Graph {
  n: number;
  start: Int32Array;
  to: Int32Array;
  cost: Float64Array;
  edge: Int32Array;
}

function buildGraph(names: readonly string[], index: ReadonlyMap<string, number>, edges: readonly GraphEdge[]): Graph {
  const n = names.length;
  // Edge numbers follow the sorted edge ids, so the tie-break is independent of input order.
  const sorted = edges
    .map((e) => {
      const ia = index.get(e.a);
      const ib = index.get(e.b);
      if (ia === undefined || ib === undefined) throw new Error(`edge ${e.a}--${e.b} names an unknown node`);
      return { lo: Math.min(ia, ib), hi: Math.max(ia, ib), cost: toFixedCost(e.weight) };
    })
    .sort((x, y) => x.lo - y.lo || x.hi - y.hi);
  const degree = new Int32Array(n + 1);
  for (const e of sorted) {
    if (e.cost <= 0) throw new Error(`link ${names[e.lo]}--${names[e.hi]} needs a positive weight`);
    degree[e.lo + 1]++;
    degree[e.hi + 1]++;
  }
  const start = new Int32Array(n + 1);
  for (let v = 0; v < n; v++) start[v + 1] = (start[v] as number) + (degree[v + 1] as number);
  const fill = start.slice(0, n);
  const to = new Int32Array(2 * sorted.length);
  const cost = new Float64Array(2 * sorted.length);
  const edge = new Int32Array(2 * sorted.length);
  sorted.forEach((e, k) => {
    for (const [from, other] of [
      [e.lo, e.hi],
      [e.hi, e.lo],
    ] as const) {
      const at = fill[from]++ as number;
      to[at] = other;
      cost[at] = e.cost;
      edge[at] = k;
    }
  });
  return { n, start, to, cost, edge };
}

/** Scratch arrays for one Dijkstra run, reused across sources. */
interface Scratch {
  d: Float64Array;
  hops: Int32Array;
  pred: Int32Array;
  predEdge: Int32Array;
  done: Uint8Array;
  order: Int32Array;
  heap: Heap;
  inCandidate: Uint8Array;
  inCurrent: Uint8Array;
}

function newScratch(graph: Graph): Scratch {
  const n = graph.n;
  return {
    d: new Float64Array(n),
    hops: new Int32Array(n),
    pred: new Int32Array(n),
    predEdge: new Int32Array(n),
    done: new Uint8Array(n),
    order: new Int32Array(n),
    heap: Heap.withCapacity(Math.max(16, graph.to.length + n)),
    inCandidate: new Uint8Array(graph.to.length / 2 + 1),
    inCurrent: new Uint8Array(graph.to.length / 2 + 1),
  };
}

/** Names sorted (indices are into them), the graph, the nodes that never forward, and scratch space. */
function prepare(nodeNames: readonly string[], edges: readonly GraphEdge[], opts: PathOptions) {
  const names = [...nodeNames].sort();
  const index = new Map(names.map((name, i) => [name, i]));
  const graph = buildGraph(names, index, edges);
  const n = names.length;
  const noTransit = new Uint8Array(n);
  for (const name of opts.noTransit ?? []) {
    const i = index.get(name);
    if (i !== undefined) noTransit[i] = 1;
  }
  return { names, index, graph, n, noTransit, scratch: newScratch(graph) };
}

export function allPairsShortestPaths(nodeNames: readonly string[], edges: readonly GraphEdge[], opts: PathOptions = {}): AllPairsPaths {
  const { names, index, graph, n, noTransit, scratch } = prepare(nodeNames, edges, opts);
  const nextHop = new Int32Array(n * n);
  // A node with one link reaches everything through its neighbour, on the neighbour's own
  // paths (the order of paths survives adding the same first edge), so its row is copied from
  // the neighbour's instead of searched, unless the neighbour forwards nothing or is a leaf too.
  const leafOf = (s: number): number => {
    if ((graph.start[s + 1] as number) - (graph.start[s] as number) !== 1) return -1;
    const p = graph.to[graph.start[s] as number] as number;
    return noTransit[p] || (graph.start[p + 1] as number) - (graph.start[p] as number) === 1 ? -1 : p;
  };
  for (let s = 0; s < n; s++) {
    if (leafOf(s) >= 0) continue;
    const settled = dijkstra(s, graph, noTransit, scratch);
    writeFirstHops(s, scratch.pred, scratch.order, settled, nextHop.subarray(s * n, (s + 1) * n));
  }
  for (let s = 0; s < n; s++) {
    const p = leafOf(s);
    if (p < 0) continue;
    const row = s * n;
    const from = p * n;
    for (let d = 0; d < n; d++) nextHop[row + d] = d === p || (nextHop[from + d] as number) >= 0 ? p : -1;
    nextHop[row + s] = s;
  }

  const pathOf = (src: string, dst: string): string[] | undefined => {
    const s = index.get(src);
    const d = index.get(dst);
    if (s === undefined || d === undefined) return undefined;
    const path = [src];
    let at = s;
    while (at !== d) {
      const hop = nextHop[at * n + d] as number;
      if (hop < 0) return undefined;
      path.push(names[hop] as string);
      at = hop;
    }
    return path;
  };
  return { names, index, nextHop, pathOf };
}

/**
 * First hops from a few sources only, over the same node list (indices into `names` sorted as
 * allPairsShortestPaths sorts them): how the failover tables ask "where would this node send each
 * destination if these links were all there were". Only the relative order of edges matters to the
 * tie-break, and a subset of edges keeps it, so a path that survives in `edges` is chosen here
 * exactly as it was in the whole graph.
 */
export function firstHopRows(nodeNames: readonly string[], edges: readonly GraphEdge[], sources: readonly string[], opts: PathOptions = {}): Map<string, Int32Array> {
  const { index, graph, n, noTransit, scratch } = prepare(nodeNames, edges, opts);
  const rows = new Map<string, Int32Array>();
  for (const source of sources) {
    const s = index.get(source);
    if (s === undefined) throw new Error(`unknown node ${source}`);
    const settled = dijkstra(s, graph, noTransit, scratch);
    const row = new Int32Array(n);
    writeFirstHops(s, scratch.pred, scratch.order, settled, row);
    rows.set(source, row);
  }
  return rows;
}

/** Returns how many nodes were settled; their order is in scratch.order. */
function dijkstra(source: number, g: Graph, noTransit: Uint8Array, s: Scratch): number {
  const { d, hops, pred, predEdge, done, order, heap } = s;
  d.fill(Infinity);
  hops.fill(-1);
  pred.fill(-1);
  predEdge.fill(-1);
  done.fill(0);
  d[source] = 0;
  hops[source] = 0;
  heap.size = 0;
  heap.push(0, 0, source);
  let settled = 0;
  while (heap.size > 0) {
    const key0 = heap.topCost;
    const key1 = heap.topHops;
    const u = heap.topNode;
    heap.pop();
    if (done[u] || key0 !== d[u] || key1 !== hops[u]) continue;
    done[u] = 1;
    order[settled++] = u;
    if (u !== source && noTransit[u]) continue;
    const du = d[u] as number;
    const hu = (hops[u] as number) + 1;
    for (let k = g.start[u] as number, end = g.start[u + 1] as number; k < end; k++) {
      const v = g.to[k] as number;
      if (done[v]) continue;
      const cand = du + (g.cost[k] as number);
      const dv = d[v] as number;
      const better =
        cand < dv || (cand === dv && hu < (hops[v] as number)) || (cand === dv && hu === hops[v] && edgeSetWins(u, g.edge[k] as number, v, s));
      if (better) {
        d[v] = cand;
        hops[v] = hu;
        pred[v] = u;
        predEdge[v] = g.edge[k] as number;
        heap.push(cand, hu, v);
      }
    }
  }
  return settled;
}

/** Does (path to u) + edge beat v's current path, by the smallest edge of their symmetric difference? */
function edgeSetWins(u: number, edge: number, v: number, s: Scratch): boolean {
  const { pred, predEdge, inCandidate, inCurrent } = s;
  const candidate = [edge];
  for (let at = u; pred[at] !== -1; at = pred[at] as number) candidate.push(predEdge[at] as number);
  const current: number[] = [];
  for (let at = v; pred[at] !== -1; at = pred[at] as number) current.push(predEdge[at] as number);
  for (const e of candidate) inCandidate[e] = 1;
  for (const e of current) inCurrent[e] = 1;
  let smallest = Infinity;
  let winner = false;
  for (const e of candidate) if (!inCurrent[e] && e < smallest) [smallest, winner] = [e, true];
  for (const e of current) if (!inCandidate[e] && e < smallest) [smallest, winner] = [e, false];
  for (const e of candidate) inCandidate[e] = 0;
  for (const e of current) inCurrent[e] = 0;
  return winner;
}

/** From a predecessor tree rooted at s, the first hop from s towards every node; settle order puts parents first. */
function writeFirstHops(s: number, pred: Int32Array, order: Int32Array, settled: number, out: Int32Array): void {
  out.fill(-1);
  out[s] = s;
  for (let k = 0; k < settled; k++) {
    const v = order[k] as number;
    if (v === s) continue;
    const p = pred[v] as number;
    out[v] = p === s ? v : (out[p] as number);
  }
}
