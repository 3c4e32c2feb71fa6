/**
 * Engine bench: what `wgmesh plan` costs on large synthetic meshes (bench/scale-mesh.ts),
 * stage by stage: plan (links, paths, AllowedIPs), render every node's wg0.conf with
 * throw-away keys, parse them back, and simulate every ordered pair. Pure CPU, no root.
 * Run alone: `tsx bench/engine.ts [N ...]` (default 100 300 1000).
 */
import type { TopologyMode } from "../infra/model";
import { planMesh } from "../infra/plan";
import { offlineEndpoints, renderAll, throwAwayKeys } from "../infra/render/mesh";
import { simulate } from "../infra/simulate";
import { parseWgQuick } from "../infra/wgquick";
import { scaleMesh } from "./scale-mesh";

export interface EngineBenchResult {
  nodes: number;
  topology: TopologyMode;
  links: number;
  pairs: number;
  reachable: number;
  planMs: number;
  renderMs: number;
  parseMs: number;
  simulateMs: number;
}

function timed<T>(fn: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const value = fn();
  return [value, Number(process.hrtime.bigint() - start) / 1e6];
}

export function benchEngine(nodes: number, topology: TopologyMode): EngineBenchResult {
  const [plan, planMs] = timed(() => planMesh(scaleMesh(nodes, topology)));
  const [texts, renderMs] = timed(() => renderAll(plan, throwAwayKeys(plan), offlineEndpoints(plan)));
  const [configs, parseMs] = timed(() => Object.fromEntries(Object.entries(texts).map(([n, t]) => [n, parseWgQuick(t, `${n}/wg0.conf`)])));
  const [report, simulateMs] = timed(() => simulate(configs));
  return { nodes, topology, links: plan.links.length, pairs: report.total, reachable: report.reachable, planMs, renderMs, parseMs, simulateMs };
}

/** A full mesh of 1000 nodes is half a million links, which nobody runs: full stops at 300. */
export function engineCases(sizes: number[]): [number, TopologyMode][] {
  return sizes.flatMap((n) => (["hub", "regional", "full"] as const).filter((t) => t !== "full" || n <= 300).map((t) => [n, t] as [number, TopologyMode]));
}

export function formatEngineResults(results: EngineBenchResult[]): string {
  const ms = (v: number): string => (v >= 1000 ? `${(v / 1000).toFixed(2)}s` : `${v.toFixed(0)}ms`);
  const rows = results.map((r) => [
    String(r.nodes),
    r.topology,
    String(r.links),
    `${r.reachable}/${r.pairs}`,
    ms(r.planMs),
    ms(r.renderMs),
    ms(r.parseMs),
    ms(r.simulateMs),
    ms(r.planMs + r.simulateMs),
  ]);
  const header = ["nodes", "topology", "links", "reachable", "plan", "render", "parse", "simulate", "plan+simulate"];
  const table = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...table.map((r) => (r[i] as string).length)));
  return table.map((r) => r.map((c, i) => (i === 1 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ")).join("\n");
}

if (require.main === module) {
  const sizes = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
  const results = engineCases(sizes.length > 0 ? sizes : [100, 300, 1000]).map(([n, t]) => benchEngine(n, t));
  process.stdout.write(`${formatEngineResults(results)}\n`);
}
