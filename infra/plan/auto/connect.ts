/**
 * The last word of `auto`: a mesh that carries every pair. Transit nodes (those that may carry
 * others' traffic) must form one piece over links between themselves (any other node carries
 * nobody's traffic, so it joins nothing), and every other node needs a transit peer. Pieces are
 * joined smallest first by their shortest link, at nodes with room when there are any; only when
 * none has room does a node go over maxPeers, since a mesh that cannot carry a pair is worse
 * than a full one. Transit nodes all have public endpoints, so any link to one can be dialled.
 */
export interface ConnectNode {
  /** May carry others' traffic. */
  transit: boolean;
  capacity: number;
}

export function connect(nodes: readonly ConnectNode[], links: [number, number][], rtt: (i: number, j: number) => number): [number, number][] {
  const n = nodes.length;
  const out = [...links];
  const degree = new Int32Array(n);
  const linked = new Set<number>();
  for (const [a, b] of out) {
    degree[a]++;
    degree[b]++;
    linked.add(a * n + b).add(b * n + a);
  }
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x] as number] as number;
      x = parent[x] as number;
    }
    return x;
  };
  const isTransit = (i: number) => (nodes[i] as ConnectNode).transit;
  for (const [a, b] of out) if (isTransit(a) && isTransit(b)) parent[find(a)] = find(b);
  /** How far over its capacity one more link takes a node. */
  const over = (i: number) => Math.max(0, (degree[i] as number) + 1 - (nodes[i] as ConnectNode).capacity);
  const add = (a: number, b: number): void => {
    out.push(a < b ? [a, b] : [b, a]);
    degree[a]++;
    degree[b]++;
    linked.add(a * n + b).add(b * n + a);
    if (isTransit(a) && isTransit(b)) parent[find(a)] = find(b);
  };
  const carriers = nodes.map((_, i) => i).filter(isTransit);
  for (;;) {
    const pieces = new Map<number, number[]>();
    for (const i of carriers) {
      const r = find(i);
      const list = pieces.get(r) ?? [];
      list.push(i);
      pieces.set(r, list);
    }
    if (pieces.size <= 1) break;
    const smallest = [...pieces.values()].sort((p, q) => p.length - q.length || (p[0] as number) - (q[0] as number))[0] as number[];
    const inside = new Set(smallest);
    let best: { cost: [number, number]; a: number; b: number } | undefined;
    for (const a of smallest) {
      for (const b of carriers) {
        if (inside.has(b) || linked.has(a * n + b)) continue;
        const cost: [number, number] = [over(a) + over(b), rtt(a, b)];
        if (!best || cost[0] < best.cost[0] || (cost[0] === best.cost[0] && cost[1] < best.cost[1])) best = { cost, a, b };
      }
    }
    if (!best) break;
    add(best.a, best.b);
  }
  for (let i = 0; i < n; i++) {
    if (isTransit(i) || out.some(([a, b]) => (a === i && isTransit(b)) || (b === i && isTransit(a)))) continue;
    let best: { cost: [number, number]; b: number } | undefined;
    for (const b of carriers) {
      if (linked.has(i * n + b)) continue;
      const cost: [number, number] = [over(b), rtt(i, b)];
      if (!best || cost[0] < best.cost[0] || (cost[0] === best.cost[0] && cost[1] < best.cost[1])) best = { cost, b };
    }
    if (best) add(i, best.b);
  }
  return out;
}
