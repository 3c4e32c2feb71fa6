/** The simulator of WireGuard's cryptokey routing over wg-quick configs, and lint on top of it. */
export { simulate, simulateSummary, type SimulateOptions, type SummaryOptions } from "./simulate";
export { lintConfigs, lintReport, lintToJson, pairProblemLine, findingLine, summaryLine, type LintReport, type LintJson } from "./lint";
export type { Direction, Finding, FindingKind, PairFailure, PairResult, Severity, SimNode, SimPeer, SimulationReport, SimulationSummary } from "./types";
