/**
 * `wgmesh lint`: the simulation as lines a person can act on. One line per unreachable
 * ordered pair naming where and by which rule the packet died, then the config findings,
 * then `N of M ordered pairs reachable`.
 */
import type { WgQuickConfig } from "../model";
import { simulate } from "./simulate";
import type { Finding, PairResult, SimulationReport } from "./types";

export interface LintReport {
  /** `a -> b: dropped at x: reason` lines, then finding lines. */
  problems: string[];
  /** `N of M ordered pairs reachable`. */
  summary: string;
  /** Every pair reachable and no finding of severity error. */
  ok: boolean;
  simulation: SimulationReport;
}

export function pairProblemLine(p: PairResult): string {
  const f = p.failure;
  if (!f) return `${p.from} -> ${p.to}: unreachable`;
  return `${p.from} -> ${p.to}: ${f.direction === "reply" ? "reply " : ""}dropped at ${f.at}: ${f.reason}`;
}

export function findingLine(f: Finding): string {
  return `${f.subject}: ${f.severity === "note" ? "note: " : ""}${f.message}`;
}

export function summaryLine(report: { reachable: number; total: number }): string {
  return `${report.reachable} of ${report.total} ordered pairs reachable`;
}

export function lintReport(simulation: SimulationReport): LintReport {
  const problems = [...simulation.pairs.filter((p) => !p.reachable).map(pairProblemLine), ...simulation.findings.map(findingLine)];
  const ok = simulation.reachable === simulation.total && !simulation.findings.some((f) => f.severity === "error");
  return { problems, summary: summaryLine(simulation), ok, simulation };
}

export function lintConfigs(configs: Record<string, WgQuickConfig>): LintReport {
  return lintReport(simulate(configs));
}

export interface LintJson {
  ok: boolean;
  summary: string;
  reachable: number;
  total: number;
  unreachable: { from: string; to: string; direction: string; at: string; reason: string; path: string[]; returnPath: string[] }[];
  findings: Finding[];
  problems: string[];
}

export function lintToJson(report: LintReport): LintJson {
  const s = report.simulation;
  return {
    ok: report.ok,
    summary: report.summary,
    reachable: s.reachable,
    total: s.total,
    unreachable: s.pairs
      .filter((p) => !p.reachable)
      .map((p) => ({
        from: p.from,
        to: p.to,
        direction: p.failure?.direction ?? "forward",
        at: p.failure?.at ?? p.from,
        reason: p.failure?.reason ?? "unreachable",
        path: p.path,
        returnPath: p.returnPath,
      })),
    findings: s.findings,
    problems: report.problems,
  };
}
