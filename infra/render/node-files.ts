/**
 * The files that ride with each node's wg0.conf through its vault (docs/node-agent.md): computed from
 * the plan, by name, for renderPayload (./payload.ts) to seal with the config and for the size checks
 * (infra/plan/sizes.ts) to count. A node installs them beside wg0.conf, as one, and hands each to its
 * agent's apply hook of the same name (hooks/NAME in the agent, ./watchdog.ts).
 *
 * - failover.conf: the node's failover table (resilience: node), for its watchdog. It names peers by
 *   public key, so it needs the keys of the node's peers (public keys only: it is not a secret).
 * - wgmesh-access.nft: the node's access ruleset (an `access` declaration), for wgmesh-firewall.
 */
import { ACCESS_RULESET_FILE, renderAccessRulesets } from "../access/files";
import { FAILOVER_FILE, renderFailover } from "../failover/format";
import type { MeshPlan } from "../model";

/** Memo per plan: the access rulesets are compiled for the whole mesh at once. */
const rulesetsOf = new WeakMap<MeshPlan, Map<string, string>>();

/** The files riding with `node`'s wg0.conf; `publicKeys` has (at least) the public key of each of its peers. */
export function nodeFiles(plan: MeshPlan, node: string, publicKeys: Readonly<Record<string, string>>): Record<string, string> {
  const files: Record<string, string> = {};
  const planned = plan.nodes.find((n) => n.name === node);
  const failover = planned ? renderFailover(node, planned.failover, publicKeys) : undefined;
  if (failover) files[FAILOVER_FILE] = failover;
  let rulesets = rulesetsOf.get(plan);
  if (!rulesets) {
    rulesets = renderAccessRulesets(plan);
    rulesetsOf.set(plan, rulesets);
  }
  const ruleset = rulesets.get(node);
  if (ruleset) files[ACCESS_RULESET_FILE] = ruleset;
  return files;
}
