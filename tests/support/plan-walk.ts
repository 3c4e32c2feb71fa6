/**
 * An independent check of a plan, written without the planner's code: walk a packet hop by
 * hop using only each node's peers and AllowedIPs, with WireGuard's outbound and inbound
 * longest-prefix rules. The simulator does the same on rendered files; this one lets the
 * planner's property tests stand on their own.
 */
import { containsIp, parseIPv4, parsePrefix, type Prefix } from "../../infra/cidr";
import type { MeshPlan, PlannedNode } from "../../infra/model";

function lpm(node: PlannedNode, ip: number): string | undefined {
  let best: { peer: string; len: number } | undefined;
  for (const p of node.peers) {
    for (const a of p.allowedIps) {
      const prefix = parsePrefix(a) as Prefix;
      if (containsIp(prefix, ip) && (!best || prefix.len > best.len)) best = { peer: p.name, len: prefix.len };
    }
  }
  return best?.peer;
}

export function walk(plan: MeshPlan, from: string, to: string): { ok: boolean; path: string[]; why?: string } {
  const byName = new Map(plan.nodes.map((n) => [n.name, n]));
  const src = parseIPv4((byName.get(from) as PlannedNode).address) as number;
  const dst = parseIPv4((byName.get(to) as PlannedNode).address) as number;
  const path = [from];
  let at = byName.get(from) as PlannedNode;
  while (at.name !== to) {
    if (path.length > plan.nodes.length + 1) return { ok: false, path, why: "loop" };
    if (at.name !== from && !at.forwarding) return { ok: false, path, why: `${at.name} does not forward` };
    const next = lpm(at, dst);
    if (!next) return { ok: false, path, why: `${at.name} has no AllowedIPs for ${to}` };
    const peer = byName.get(next) as PlannedNode;
    if (!peer.peers.some((p) => p.name === at.name)) return { ok: false, path, why: `${next} does not list ${at.name}` };
    if (lpm(peer, src) !== at.name) return { ok: false, path, why: `${next} refuses source ${from} from ${at.name}` };
    path.push(next);
    at = peer;
  }
  return { ok: true, path };
}
