/**
 * A planned mesh as lab input, and the lab's measurement held against the plan. Kept apart
 * from the command so tests and the bench can use it without the stack-file loader.
 */
import type { MeshPlan, WgQuickConfig } from "../infra/model";
import type { ConfigSet } from "../infra/simulate";
import { renderAll, renderAllFailover, throwAwayKeys, type MeshKeys } from "../infra/render/mesh";
import { placeholderEndpoint } from "../infra/render/wgquick";
import { parseWgQuick } from "../infra/wgquick";
import type { PingMatrix } from "./ping";

export interface LabInput {
  configs: ConfigSet;
  sites?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  plan?: MeshPlan;
  /** node -> failover.conf, for a resilient plan's watchdogs. */
  failover?: ReadonlyMap<string, string>;
}

/**
 * A plan's configs rendered as `render --ephemeral-keys` would; endpoints are placeholders
 * the lab remaps by public key. Pass `keys` to keep nodes' identities across a re-render.
 */
export function configsFromPlan(plan: MeshPlan, keys: MeshKeys = throwAwayKeys(plan)): LabInput & { configs: Record<string, WgQuickConfig>; keys: MeshKeys } {
  const endpoints = Object.fromEntries(plan.nodes.map((n) => [n.name, placeholderEndpoint(n.name)]));
  const texts = renderAll(plan, keys, endpoints);
  const configs = Object.fromEntries(Object.entries(texts).map(([node, text]) => [node, parseWgQuick(text, `${node}/wg0.conf`)]));
  const failover = new Map(Object.entries(renderAllFailover(plan, keys)));
  return { configs, sites: Object.fromEntries(plan.nodes.map((n) => [n.name, n.site])), plan, keys, ...(failover.size > 0 ? { failover } : {}) };
}

/**
 * Keys for a changed plan that keep every existing node's identity (and every existing link's
 * preshared key), as the deployed stack does: only new nodes and links get new ones.
 */
export function keepKeys(plan: MeshPlan, previous: MeshKeys): MeshKeys {
  const fresh = throwAwayKeys(plan);
  const keep = (a: Record<string, string>, b: Record<string, string>, names: string[]): Record<string, string> =>
    Object.fromEntries(names.map((n) => [n, a[n] ?? (b[n] as string)]));
  const nodes = plan.nodes.map((n) => n.name);
  const keys: MeshKeys = {
    privateKeys: keep(previous.privateKeys, fresh.privateKeys, nodes),
    publicKeys: keep(previous.publicKeys, fresh.publicKeys, nodes),
  };
  if (fresh.presharedKeys) keys.presharedKeys = keep(previous.presharedKeys ?? {}, fresh.presharedKeys, plan.links.map((l) => l.id));
  return keys;
}

export interface Disagreement {
  from: string;
  to: string;
  labHops: number | null;
  planHops: number;
}

/** Pairs where the measured hop count is not the planner's path length. */
export function compareWithPlan(plan: MeshPlan, matrix: PingMatrix): Disagreement[] {
  const out: Disagreement[] = [];
  for (const p of matrix.pairs) {
    const path = plan.routes.pathOf(p.from, p.to);
    if (!path) continue;
    const planHops = path.length - 1;
    const labHops = p.reachable && p.hops !== undefined ? p.hops : null;
    if (labHops !== planHops) out.push({ from: p.from, to: p.to, labHops, planHops });
  }
  return out;
}
