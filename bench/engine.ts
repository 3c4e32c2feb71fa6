/**
 * Engine bench: each case (bench/engine-case.ts) in its own process, so time and peak memory
 * are the case's alone, with a deadline; a case that fails or runs out of memory is reported
 * as such instead of ending the bench.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import type { TopologyMode } from "../infra/model";
import type { EngineCaseResult } from "./engine-case";

export interface EngineCase {
  mesh: string;
  topology: TopologyMode;
  resilience?: "node";
  /** A generated resilient mesh: POPs in this many metros only, and its maxPeers. */
  routerMetros?: number;
  maxPeers?: number;
}

export type EngineOutcome = { case: EngineCase; result: EngineCaseResult } | { case: EngineCase; error: string };

export function runEngineCaseIsolated(c: EngineCase, timeoutMs = 300_000): EngineOutcome {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(__dirname, "engine-case.ts"), c.mesh, c.topology, ...(c.resilience ? [c.resilience, String(c.routerMetros ?? ""), String(c.maxPeers ?? "")] : [])], { encoding: "utf8", timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
  if (r.status === 0) return { case: c, result: JSON.parse(r.stdout) as EngineCaseResult };
  const why = r.error ? r.error.message : (r.stderr.trim().split("\n").filter(Boolean).at(-1) ?? `exit ${r.status}`);
  return { case: c, error: why.slice(0, 200) };
}

const s = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)}s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)}s` : `${Math.round(ms)}ms`);
const kb = (b: number): string => `${(b / 1000).toFixed(1)}k`;

export function formatEngineTable(outcomes: readonly EngineOutcome[]): string {
  const header = ["nodes", "topology", "links", "peers max/med", "largest vault entry (limit)", "stretch med/p99/max", "within bound", "validate", "plan", "render", "simulate", "failures", "survived n/l", "total (cpu)", "peak"];
  const rows = outcomes.map((o) => {
    if ("error" in o) return [o.case.mesh, `${o.case.topology}${o.case.resilience ? "+node" : ""}`, `FAILED: ${o.error}`];
    const r = o.result;
    const largest = Object.values(r.configBytes).sort((a, b) => b.bytes / b.limit - a.bytes / a.limit)[0];
    const l = r.latency;
    return [
      r.mesh === "prod" ? "12 prod" : String(r.nodes),
      // "+node": resilience: node, its failures walked through the failover tables.
      `${r.topology}${r.resilience ? "+node" : ""}`,
      String(r.links),
      `${r.peers.max}/${r.peers.median}`,
      largest ? `${kb(largest.bytes)} (${kb(largest.limit)})${r.overLimit > 0 ? ` ${r.overLimit} OVER` : ""}` : "-",
      l ? `${l.median.toFixed(2)}/${l.p99.toFixed(2)}/${l.max.toFixed(2)}` : "-",
      l ? `${((100 * l.withinBound) / l.pairs).toFixed(l.withinBound === l.pairs ? 0 : 2)}%` : "-",
      s(r.stages.validate.ms),
      s(r.stages.plan.ms),
      s(r.stages.render.ms),
      s(r.stages.simulate.ms),
      s(r.stages.resilience.ms),
      `${r.failures.nodesSurvived}/${r.failures.nodes} ${r.failures.linksSurvived}/${r.failures.links}`,
      `${s(r.totalMs)} (${s(r.totalCpuMs)})`,
      `${r.peakMb}MB`,
    ];
  });
  return table([header, ...rows]);
}

export function table(rows: readonly (readonly string[])[]): string {
  const width = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: width }, (_, i) => Math.max(...rows.map((r) => (r.length === width ? (r[i] ?? "").length : 0))));
  return rows
    .map((r) => (r.length < width ? r.join("  ") : r.map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ")))
    .join("\n");
}
