/** The simulator of WireGuard's cryptokey routing over wg-quick configs, and lint on top of it. */
export { simulate, simulateSummary, type SimulateOptions, type SummaryOptions } from "./simulate";
export { asConfigMap, WG_QUICK_DEFAULT_MTU, type ConfigSet } from "./mesh-model";
export { endpointTarget, hostOwners, judgeEndpoint, parseEndpoint, type EndpointUse } from "./endpoints";
export {
  lintConfigs,
  lintReport,
  lintToJson,
  pairProblemLine,
  pairGroups,
  groupLine,
  findingLine,
  summaryLine,
  type LintInput,
  type LintReport,
  type LintJson,
  type PairGroup,
} from "./lint";
export type { Direction, Finding, FindingKind, LargePacket, PairFailure, PairResult, Severity, SimNode, SimPeer, SimulationReport, SimulationSummary } from "./types";
