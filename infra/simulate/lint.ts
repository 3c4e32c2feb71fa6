/**
 * `wgmesh lint`: the simulation as lines a person can act on, causes before effects. First
 * every file's parse problems and the entries skipped, then the findings (a key misspelt, a
 * peer missing, a PresharedKey on one side), then the root causes the drops add up to (the
 * AllowedIPs each config lacks, over every node that lacks them, each with its fix and the pairs
 * it explains: ./root-causes.ts), then the ordered pairs no cause explains, grouped by where and
 * why they die, then `N of M ordered pairs reachable`.
 */
import type { ConfigSet } from "./mesh-model";
import { rootCauseLines, rootCauses, type RootCause } from "./root-causes";
import { simulate } from "./simulate";
import type { Direction, Finding, PairResult, SimulationReport } from "./types";

export interface LintInput {
  /** `file:line: message` lines from reading the files. */
  parseProblems?: readonly string[];
  /** Entries not read on purpose (symbolic links), one line each. */
  skipped?: readonly string[];
  /** Nodes whose file does not parse, with why: they are simulated as down. */
  down?: ReadonlyMap<string, string>;
}

/** Ordered pairs that fail at the same node by the same rule. */
export interface PairGroup {
  /** "unreachable": the ping dies; "large-packet": it works, but a full-size packet dies. */
  kind: "unreachable" | "large-packet";
  direction: Direction;
  at: string;
  /** `dropped at gru: no route to 10.50.4.1, 10.50.4.2: ...`, addresses of the group merged. */
  header: string;
  pairs: { from: string; to: string }[];
}

export interface LintReport {
  parseProblems: string[];
  skipped: string[];
  /** Finding lines, most serious first. */
  causes: string[];
  /** The AllowedIPs defects the unreachable pairs add up to, each with its fix (empty without the configs). */
  rootCauses: RootCause[];
  /** Every failing pair grouped by where and why (those of a root cause included; --json lists them). */
  groups: PairGroup[];
  /** Every line above in order: parse problems, skipped, findings, root causes (two lines each), one line per group no root cause explains. */
  problems: string[];
  /** `N of M ordered pairs reachable`. */
  summary: string;
  /** Every file parsed, every pair reachable with full-size packets too, and no finding of severity error. */
  ok: boolean;
  simulation: SimulationReport;
}

/** Pairs listed in a group's line; the rest are counted (--json lists all). */
const PAIRS_SHOWN = 8;
const VALUES_SHOWN = 6;

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

const IPV4_IN_TEXT = /\b\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?\b/g;

interface Draft {
  group: PairGroup;
  parts: string[];
  values: string[][];
}

function groupPairs(failures: { pair: PairResult; kind: PairGroup["kind"]; direction: Direction; at: string; reason: string; prefix: string }[]): PairGroup[] {
  const drafts = new Map<string, Draft>();
  for (const f of failures) {
    const parts = f.reason.split(IPV4_IN_TEXT);
    const values = f.reason.match(IPV4_IN_TEXT) ?? [];
    const key = `${f.kind}\u0000${f.direction}\u0000${f.at}\u0000${f.prefix}\u0000${parts.join("\u0001")}`;
    let d = drafts.get(key);
    if (!d) {
      d = { group: { kind: f.kind, direction: f.direction, at: f.at, header: "", pairs: [] }, parts, values: values.map(() => []) };
      drafts.set(key, d);
    }
    values.forEach((v, i) => {
      const slot = d.values[i] as string[];
      if (!slot.includes(v)) slot.push(v);
    });
    d.group.pairs.push({ from: f.pair.from, to: f.pair.to });
    d.group.header = f.prefix;
  }
  return [...drafts.values()].map((d) => {
    let reason = d.parts[0] ?? "";
    d.values.forEach((slot, i) => {
      const shown = slot.slice(0, VALUES_SHOWN).join(", ") + (slot.length > VALUES_SHOWN ? ` and ${slot.length - VALUES_SHOWN} more` : "");
      reason += shown + (d.parts[i + 1] ?? "");
    });
    return { ...d.group, header: `${d.group.header}${reason}` };
  });
}

export function groupLine(g: PairGroup): string {
  const n = g.pairs.length;
  const shown = g.pairs.slice(0, PAIRS_SHOWN).map((p) => `${p.from} -> ${p.to}`);
  const more = n > PAIRS_SHOWN ? ` and ${n - PAIRS_SHOWN} more` : "";
  return `${g.header} (${n} ordered pair${n === 1 ? "" : "s"}: ${shown.join(", ")}${more})`;
}

export function pairGroups(simulation: SimulationReport): PairGroup[] {
  const unreachable = simulation.pairs
    .filter((p) => !p.reachable)
    .map((p) => {
      const f = p.failure ?? { direction: "forward" as const, at: p.from, reason: "unreachable" };
      return { pair: p, kind: "unreachable" as const, direction: f.direction, at: f.at, reason: f.reason, prefix: `${f.direction === "reply" ? "reply " : ""}dropped at ${f.at}: ` };
    });
  const large = simulation.pairs
    .filter((p) => p.largePacket && !p.largePacket.reachable)
    .map((p) => {
      const l = p.largePacket as NonNullable<PairResult["largePacket"]>;
      return { pair: p, kind: "large-packet" as const, direction: "forward" as const, at: l.at ?? p.from, reason: l.reason ?? "dropped", prefix: `reachable, but full-size packets are dropped at ${l.at}: ` };
    });
  return [...groupPairs(unreachable), ...groupPairs(large)];
}

export function lintReport(simulation: SimulationReport, input: LintInput = {}, configs?: ConfigSet): LintReport {
  const parseProblems = [...(input.parseProblems ?? [])];
  const skipped = [...(input.skipped ?? [])];
  const causes = simulation.findings.map(findingLine);
  const groups = pairGroups(simulation);
  const roots = configs ? rootCauses(simulation, configs) : { causes: [], explained: new Set<string>() };
  const unexplained = groups
    .map((g) => (g.kind === "unreachable" ? { ...g, pairs: g.pairs.filter((p) => !roots.explained.has(`${p.from}\u0000${p.to}`)) } : g))
    .filter((g) => g.pairs.length > 0);
  const problems = [...parseProblems, ...skipped, ...causes, ...roots.causes.flatMap((c, i) => rootCauseLines(c, i, roots.causes.length)), ...unexplained.map(groupLine)];
  const ok =
    parseProblems.length === 0 &&
    simulation.reachable === simulation.total &&
    !simulation.pairs.some((p) => p.largePacket && !p.largePacket.reachable) &&
    !simulation.findings.some((f) => f.severity === "error");
  return { parseProblems, skipped, causes, rootCauses: roots.causes, groups, problems, summary: summaryLine(simulation), ok, simulation };
}

export function lintConfigs(configs: ConfigSet, input: LintInput = {}): LintReport {
  return lintReport(simulate(configs, input.down ? { down: input.down } : {}), input, configs);
}

export interface LintJson {
  ok: boolean;
  summary: string;
  reachable: number;
  total: number;
  parseProblems: string[];
  skipped: string[];
  unreachable: { from: string; to: string; direction: string; at: string; reason: string; path: string[]; returnPath: string[] }[];
  largePackets: { from: string; to: string; size: number; at: string; reason: string }[];
  findings: Finding[];
  rootCauses: RootCause[];
  groups: PairGroup[];
  problems: string[];
}

export function lintToJson(report: LintReport): LintJson {
  const s = report.simulation;
  return {
    ok: report.ok,
    summary: report.summary,
    reachable: s.reachable,
    total: s.total,
    parseProblems: report.parseProblems,
    skipped: report.skipped,
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
    largePackets: s.pairs
      .filter((p) => p.largePacket && !p.largePacket.reachable)
      .map((p) => ({ from: p.from, to: p.to, size: p.largePacket?.size ?? 0, at: p.largePacket?.at ?? p.from, reason: p.largePacket?.reason ?? "" })),
    findings: s.findings,
    rootCauses: report.rootCauses,
    groups: report.groups,
    problems: report.problems,
  };
}
