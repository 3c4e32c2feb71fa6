/**
 * The files that ride with each node's wg0.conf through its vault (docs/node-agent.md): computed from
 * the plan, by name, for renderPayload (./payload.ts) to seal with the config and for the size checks
 * (infra/plan/sizes.ts) to count. A node installs them beside wg0.conf, as one, and hands each to its
 * agent's apply hook of the same name (hooks/NAME in the agent).
 *
 * None yet. A feature adds its file here (say `failover.table` from the plan's paths, or
 * `netfilter.rules`) and its hook and unit to the agent (./agent.ts, agentFiles), and raises
 * AGENT_VERSION.
 */
import type { MeshPlan } from "../model";

export function nodeFiles(_plan: MeshPlan, _node: string): Record<string, string> {
  return {};
}
