/**
 * The all-pairs shortest paths, against brute force: on small random graphs, every simple path
 * is listed and ordered by (cost, hops, edge set), nodes that may not carry traffic allowed
 * only at the ends. The planner's path must be the first of that order, which also makes it
 * symmetric and its pieces the paths between their ends.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { allPairsShortestPaths, type GraphEdge } from "../../infra/plan/paths";
import { toFixedCost } from "../../infra/plan/weights";

function bestPath(names: string[], edges: GraphEdge[], noTransit: Set<string>, src: string, dst: string): string[] | undefined {
  const sortedEdges = edges.map((e) => (e.a < e.b ? `${e.a}--${e.b}` : `${e.b}--${e.a}`)).sort();
  const edgeNo = (a: string, b: string) => sortedEdges.indexOf(a < b ? `${a}--${b}` : `${b}--${a}`);
  const weight = new Map(edges.map((e) => [edgeNo(e.a, e.b), toFixedCost(e.weight)]));
  const adj = new Map(names.map((n) => [n, [] as string[]]));
  for (const e of edges) {
    adj.get(e.a)?.push(e.b);
    adj.get(e.b)?.push(e.a);
  }
  const found: { path: string[]; cost: number; set: number[] }[] = [];
  const dfs = (path: string[]): void => {
    const at = path[path.length - 1] as string;
    if (at === dst) {
      const set = path.slice(1).map((n, i) => edgeNo(path[i] as string, n));
      found.push({ path: [...path], cost: set.reduce((s, e) => s + (weight.get(e) as number), 0), set: set.sort((a, b) => a - b) });
      return;
    }
    if (at !== src && noTransit.has(at)) return;
    for (const next of adj.get(at) ?? []) if (!path.includes(next)) dfs([...path, next]);
  };
  dfs([src]);
  const setWins = (x: number[], y: number[]): number => {
    const sx = new Set(x);
    const sy = new Set(y);
    const diff = [...x.filter((e) => !sy.has(e)), ...y.filter((e) => !sx.has(e))].sort((a, b) => a - b)[0];
    return diff === undefined ? 0 : sx.has(diff) ? -1 : 1;
  };
  found.sort((p, q) => p.cost - q.cost || p.path.length - q.path.length || setWins(p.set, q.set));
  return found[0]?.path;
}

test("property: every pair's path is the first simple path by cost, hops and edge set", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 7 }),
      fc.array(fc.tuple(fc.nat(6), fc.nat(6), fc.constantFrom(1, 2, 3, 5, 10.5)), { maxLength: 16 }),
      fc.array(fc.nat(6), { maxLength: 2 }),
      (n, raw, transitless) => {
        const names = Array.from({ length: n }, (_, i) => `n${i}`);
        const seen = new Set<string>();
        const edges: GraphEdge[] = [];
        for (const [x, y, w] of raw) {
          const a = `n${x % n}`;
          const b = `n${y % n}`;
          const id = a < b ? `${a}--${b}` : `${b}--${a}`;
          if (a === b || seen.has(id)) continue;
          seen.add(id);
          edges.push({ a, b, weight: w });
        }
        const noTransit = new Set(transitless.map((i) => `n${i % n}`));
        const apsp = allPairsShortestPaths(names, edges, { noTransit });
        for (const s of names) {
          for (const d of names) {
            if (s === d) continue;
            assert.deepEqual(apsp.pathOf(s, d), bestPath(names, edges, noTransit, s, d), `${s} -> ${d} over ${JSON.stringify(edges)} without transit at ${[...noTransit]}`);
          }
        }
      },
    ),
    { numRuns: 400 },
  );
});
