/**
 * Each node's access ruleset as the file that ships with its config: what `wgmesh render` writes
 * beside wg0.conf, and what the node's agent hands to `wgmesh-firewall apply`.
 */
import type { MeshPlan } from "../model";
import { compileAccess } from "./compile";
import { renderRuleset, rulesetHeader } from "./nft";

/** The ruleset's file name, beside wg0.conf. */
export const ACCESS_RULESET_FILE = "wgmesh-access.nft";

/** Node name -> its ruleset file; empty for a flat mesh (nothing to ship, and wgmesh-firewall remove to run). */
export function renderAccessRulesets(plan: MeshPlan): Map<string, string> {
  const compiled = compileAccess(plan);
  if (!compiled) return new Map();
  const rules = compiled.spec.rules.length;
  return new Map([...compiled.rulesets].map(([node, r]) => [node, renderRuleset(r, rulesetHeader(node, rules))]));
}
