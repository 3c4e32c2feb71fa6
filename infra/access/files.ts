/**
 * Each node's access ruleset as the file that ships with its config: what `wgmesh render` writes
 * beside wg0.conf, and what the node's agent hands to `wgmesh-firewall apply`. External nodes also
 * get the same ruleset as an iptables-restore file, for a host configured by hand that has no nft.
 */
import type { MeshPlan } from "../model";
import { compileAccess } from "./compile";
import { iptablesRulesetHeader, renderIptablesRuleset } from "./iptables";
import { renderRuleset, rulesetHeader } from "./nft";

/** The ruleset's file name, beside wg0.conf. */
export const ACCESS_RULESET_FILE = "wgmesh-access.nft";
/** The same ruleset for iptables-restore, beside it on external nodes (`wgmesh render` only; never in the vault). */
export const ACCESS_IPTABLES_FILE = "wgmesh-access.iptables";

/** Node name -> its ruleset file; empty for a flat mesh (nothing to ship, and wgmesh-firewall remove to run). */
export function renderAccessRulesets(plan: MeshPlan): Map<string, string> {
  const compiled = compileAccess(plan);
  if (!compiled) return new Map();
  const rules = compiled.spec.rules.length;
  return new Map([...compiled.rulesets].map(([node, r]) => [node, renderRuleset(r, rulesetHeader(node, rules))]));
}

/** Node name -> its ruleset as an iptables-restore file, for the nodes named; empty for a flat mesh. */
export function renderAccessIptablesRulesets(plan: MeshPlan, nodes: ReadonlySet<string>): Map<string, string> {
  const compiled = compileAccess(plan);
  if (!compiled) return new Map();
  const rules = compiled.spec.rules.length;
  return new Map([...compiled.rulesets].filter(([node]) => nodes.has(node)).map(([node, r]) => [node, renderIptablesRuleset(r, iptablesRulesetHeader(node, rules))]));
}
