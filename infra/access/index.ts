/**
 * Access inside the mesh: groups, allow rules and tests declared under `access`, validated
 * (check.ts), compiled into each node's nftables ruleset (compile.ts, nft.ts), proven on every
 * simulated path (simulate.ts, report.ts) and compared between two declarations (diff.ts).
 */
import type { MeshPlan } from "../model";
import { accessLines, FLAT_MESH_LINE } from "./format";
import { accessReportOf, type AccessReport } from "./report";

export { AccessEcho, type AccessSpec } from "./model";
export { compileAccess, MESH_INTERFACE, type CompiledAccess, type NodeRuleset } from "./compile";
export { renderRuleset, rulesetHeader, ACCESS_TABLE } from "./nft";
export { accessReportOf, AccessEvaluator, type AccessReport } from "./report";
export { FilterModel, verdictText, type FlowVerdict, type PathOfPair } from "./simulate";
export { accessLines, FLAT_MESH_LINE } from "./format";

/** Exit code of `wgmesh plan` when an access test does not hold. */
export const ACCESS_TEST_FAILED_EXIT = 3;

/** What `wgmesh plan` prints about access, and the report behind it (none for a flat mesh). */
export function accessSection(plan: MeshPlan, options: { flows?: boolean } = {}): { lines: string[]; report?: AccessReport } {
  const report = accessReportOf(plan, options);
  return report ? { lines: accessLines(report), report } : { lines: [FLAT_MESH_LINE] };
}

/** Whether a plan's spec declares an access policy: what the policy pack's rule asks of listed environments. */
export function hasAccessPolicy(plan: Pick<MeshPlan, "spec">): boolean {
  return plan.spec.access !== undefined;
}
