/**
 * The greedy spanner on the nodes themselves with maxPeers, for meshes small enough to keep
 * every pair's distance (a few hundred nodes). First exactly the bounded-degree greedy: pairs
 * by increasing round trip, a pair over its bound gets a direct link unless an end is full.
 * Then, where that variant gives up, repair: each pair still over gets the best link, among
 * nodes with room left, from a node near one end to the other end or to a node near it, that
 * brings it within its bound; twice, since links added late open detours for earlier pairs.
 * Links are only ever added, so it never misses a pair the bounded-degree greedy meets.
 *
 * Two nodes behind NAT are never linked to each other, and only transit nodes (those that may carry
 * others' traffic) are ever interior to a path.
 */
import { boundOf, type LatencyBound } from "./bound";

export interface GreedyNode {
  /** Reachable at a public endpoint: a link needs one such end. */
  public: boolean;
  /** May carry others' traffic: the only nodes a path passes through. */
  transit: boolean;
  /** Peers it may take. */
  capacity: number;
}

/** How many nodes nearest each end are tried as the near end of a detour link. */
const NEAR = 12;

export class DistanceMatrix {
  readonly dist: Float64Array;
  constructor(
    readonly n: number,
    private readonly isTransit: (i: number) => boolean,
  ) {
    this.dist = new Float64Array(n * n).fill(Infinity);
    for (let i = 0; i < n; i++) this.dist[i * n + i] = 0;
  }

  get(i: number, j: number): number {
    return this.dist[i * this.n + j] as number;
  }

  /** Distance from s to x where x will be passed through: only a transit node (or s itself) can be. */
  into(s: number, x: number): number {
    return s === x || this.isTransit(x) ? (this.dist[s * this.n + x] as number) : Infinity;
  }

  /** A new link i--j of round trip d: every path can now also go s ... i - j ... t. */
  addLink(i: number, j: number, d: number): void {
    const n = this.n;
    const toI = new Float64Array(n);
    const toJ = new Float64Array(n);
    for (let s = 0; s < n; s++) {
      toI[s] = this.into(s, i) + d;
      toJ[s] = this.into(s, j) + d;
    }
    const fromJ = new Float64Array(n);
    const fromI = new Float64Array(n);
    for (let t = 0; t < n; t++) {
      fromJ[t] = this.into(t, j);
      fromI[t] = this.into(t, i);
    }
    const dist = this.dist;
    for (let s = 0; s < n; s++) {
      const a = toI[s] as number;
      const b = toJ[s] as number;
      if (a === Infinity && b === Infinity) continue;
      const row = s * n;
      for (let t = 0; t < n; t++) {
        const c = Math.min(a + (fromJ[t] as number), b + (fromI[t] as number));
        if (c < (dist[row + t] as number)) dist[row + t] = c;
      }
    }
  }
}

/**
 * `start`: links already chosen (another design to repair): they are kept and count against
 * room, and the bounded-degree pass is skipped, so only detours are added to them.
 */
export function nodeGreedy(nodes: readonly GreedyNode[], rtt: (i: number, j: number) => number, bound: LatencyBound, start?: readonly [number, number][]): [number, number][] {
  const n = nodes.length;
  const isPublic = (i: number) => (nodes[i] as GreedyNode).public;
  const m = new DistanceMatrix(n, (i) => (nodes[i] as GreedyNode).transit);
  const room = nodes.map((x) => x.capacity);
  const linked = new Set<number>();
  const links: [number, number][] = [];
  const canLink = (x: number, y: number) => x !== y && (room[x] as number) > 0 && (room[y] as number) > 0 && (isPublic(x) || isPublic(y)) && !linked.has(x * n + y);
  const add = (x: number, y: number): void => {
    const [a, b] = x < y ? [x, y] : [y, x];
    links.push([a, b]);
    linked.add(a * n + b).add(b * n + a);
    room[a]--;
    room[b]--;
    m.addLink(a, b, rtt(a, b));
  };
  /** Nodes with room nearest to s (by current distance, s first), where a detour link may start. */
  const near = (s: number): number[] => {
    const out: { x: number; d: number }[] = [];
    for (let x = 0; x < n; x++) {
      if ((room[x] as number) <= 0) continue;
      const d = m.into(s, x);
      if (d === Infinity) continue;
      out.push({ x, d });
    }
    return out.sort((p, q) => p.d - q.d || p.x - q.x).slice(0, NEAR).map((p) => p.x);
  };
  const detour = (i: number, j: number, limit: number): [number, number] | undefined => {
    let best: { cost: number; rtt: number; link: [number, number] } | undefined;
    for (const x of near(i)) {
      for (const y of [j, ...near(j)]) {
        if (!canLink(x, y)) continue;
        const cost = m.into(i, x) + rtt(x, y) + m.into(j, y);
        if (cost > limit + 1e-9) continue;
        const r = rtt(x, y);
        if (!best || cost < best.cost - 1e-9 || (Math.abs(cost - best.cost) <= 1e-9 && r < best.rtt)) best = { cost, rtt: r, link: [x, y] };
      }
    }
    for (const y of near(j)) {
      if (!canLink(i, y)) continue;
      const cost = rtt(i, y) + m.into(j, y);
      if (cost <= limit + 1e-9 && (!best || cost < best.cost - 1e-9)) best = { cost, rtt: rtt(i, y), link: [i, y] };
    }
    return best?.link;
  };

  for (const [a, b] of start ?? []) if (!linked.has(a * n + b)) add(a, b);
  const pairs: [number, number, number][] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push([i, j, rtt(i, j)]);
  pairs.sort((x, y) => x[2] - y[2] || x[0] - y[0] || x[1] - y[1]);
  for (let pass = start ? 1 : 0; pass < 3; pass++) {
    for (const [i, j, d] of pairs) {
      const limit = boundOf(d, bound);
      if (m.get(i, j) <= limit + 1e-9) continue;
      if (pass === 0) {
        if (canLink(i, j)) add(i, j);
        continue;
      }
      const via = detour(i, j, limit);
      if (via) add(via[0], via[1]);
    }
  }
  return links;
}

/** Pairs over their bound with these links, and by how much in all: how two link sets are compared. */
export function misses(n: number, isTransit: (i: number) => boolean, links: readonly [number, number][], rtt: (i: number, j: number) => number, bound: LatencyBound): { count: number; excessMs: number } {
  const m = new DistanceMatrix(n, isTransit);
  for (const [a, b] of links) m.addLink(a, b, rtt(a, b));
  let count = 0;
  let excessMs = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const over = m.get(i, j) - boundOf(rtt(i, j), bound);
      if (over > 1e-9) {
        count++;
        excessMs += Math.min(over, 1e6);
      }
    }
  }
  return { count, excessMs };
}
