/**
 * `resilience: node`: links laid out so that any single node can die and every surviving pair is
 * repaired by the dead node's neighbours alone, each from a table it was shipped in advance.
 *
 * WireGuard filters every packet it receives by the sender's AllowedIPs, so a repaired path must be
 * the reverse of its return path at every hop, and a node that does not know of a failure keeps
 * filtering by its old table. The layout makes "every node whose routes change is a neighbour of the
 * dead node" true by construction:
 *
 * - The core: the nodes that may carry others' traffic (transit.ts says which), linked to each other.
 *   Every core node is then a neighbour of every other and hears of any one's death itself.
 * - Every other node has one home in the core, its primary, and sends everything that is not a
 *   direct peer of its own through it; and a backup home, a second core node, linked but idle
 *   (keepalives only, no AllowedIPs). Since such a node never picks between homes per destination,
 *   a failure anywhere but at its homes leaves its table as it is.
 * - When a home dies, its nodes (neighbours) promote their backup link, the core (all neighbours)
 *   reroutes, and nobody else changes. failover.ts computes those tables; the simulator walks every
 *   single failure on the rendered files to prove it.
 *
 * A direct link between two nodes outside the core carries only that pair, and stays.
 * `topology: full` needs nothing: every pair is direct and nobody carries another's traffic.
 *
 * What one-hop awareness cannot repair: the loss of a single link (both ends alive) between a node and
 * its primary home. The nodes that route to it through that home keep doing so and keep filtering
 * its replies by that home, and its backup home cannot forward both ways without knowing of the loss
 * (docs/failover.md has the argument). The simulator reports every single link failure for what it is.
 */
import type { ConfigIssue, MeshSpec, PlannedLink, ResilienceLayout, SkippedLink } from "../model";
import { linkId, type NodeFacts } from "./topology";

export interface ResilientLinks {
  links: PlannedLink[];
  skipped: SkippedLink[];
  issues: ConfigIssue[];
  layout: ResilienceLayout;
}

/** `mayTransit(name)`: whether the declaration lets the node carry others' traffic (transit.ts). */
export function resilientLinks(
  spec: MeshSpec,
  facts: ReadonlyMap<string, NodeFacts>,
  candidates: readonly PlannedLink[],
  weight: (a: string, b: string) => number,
  mayTransit: (name: string) => boolean,
): ResilientLinks {
  const issues: ConfigIssue[] = [];
  const skipped: SkippedLink[] = [];
  const byId = new Map(candidates.map((l) => [l.id, { ...l }]));
  const names = spec.nodes.map((n) => n.name).sort();
  if (spec.topology === "full") return { links: [...byId.values()], skipped, issues, layout: { core: [], homes: {} } };

  const core = names.filter(mayTransit);
  if (core.length < 2) {
    issues.push({
      path: "resilience",
      message:
        core.length === 0
          ? "node needs at least two nodes that may carry others' traffic, and this mesh has none; declare a hub and a POP with public endpoints (or a second hub)"
          : `node needs at least two nodes that may carry others' traffic, and only ${core[0]} may; declare a POP or a second hub with a public endpoint, or let another node forward`,
    });
    return { links: [...byId.values()], skipped, issues, layout: { core, homes: {} } };
  }
  const inCore = new Set(core);
  const add = (a: string, b: string): PlannedLink => {
    const id = linkId(a, b);
    let link = byId.get(id);
    if (!link) {
      const [x, y] = a < b ? [a, b] : [b, a];
      link = { id, a: x, b: y, weight: weight(x, y), origin: "resilience" };
      byId.set(id, link);
    }
    return link;
  };
  for (let i = 0; i < core.length; i++) for (let j = i + 1; j < core.length; j++) add(core[i] as string, core[j] as string);

  const hubs = new Set(spec.nodes.filter((n) => n.role === "hub").map((n) => n.name));
  const linkedCore = new Map<string, string[]>();
  for (const l of byId.values()) {
    for (const [x, y] of [
      [l.a, l.b],
      [l.b, l.a],
    ] as const) {
      if (!inCore.has(x) && inCore.has(y)) linkedCore.set(x, [...(linkedCore.get(x) ?? []), y]);
    }
  }
  const nearest = (from: string, among: readonly string[]): string | undefined =>
    [...among].sort((p, q) => weight(from, p) - weight(from, q) || (p < q ? -1 : 1))[0];

  const homes: ResilienceLayout["homes"] = {};
  for (const s of names) {
    if (inCore.has(s)) continue;
    const linked = linkedCore.get(s) ?? [];
    // The topology's own choice of way in, when it made one: the hub under `hub`, the nearest linked core node otherwise.
    const preferred = spec.topology === "hub" ? linked.filter((c) => hubs.has(c)) : linked;
    const primary = nearest(s, preferred.length > 0 ? preferred : linked.length > 0 ? linked : core) as string;
    const others = linked.filter((c) => c !== primary);
    const backup = nearest(s, others.length > 0 ? others : core.filter((c) => c !== primary)) as string;
    homes[s] = { primary, backup };
    add(s, primary);
    const spare = add(s, backup);
    spare.backup = true;
    for (const c of linked) {
      if (c === primary || c === backup) continue;
      const id = linkId(s, c);
      const l = byId.get(id) as PlannedLink;
      byId.delete(id);
      skipped.push({ a: l.a, b: l.b, reason: `resilience: node sends ${s}'s traffic through one home (${primary}) with one backup (${backup})` });
    }
  }
  const unreachableNat = names.filter((s) => !inCore.has(s) && !(facts.get(s) as NodeFacts).hasPublicEndpoint && !homes[s]);
  for (const s of unreachableNat) issues.push({ path: `nodes.${s}`, message: "has no home in the core; link it to a hub or POP" });

  if (spec.topology === "auto" && spec.maxPeers !== undefined) {
    const degree = new Map<string, number>();
    for (const l of byId.values()) for (const end of [l.a, l.b]) degree.set(end, (degree.get(end) ?? 0) + 1);
    for (const [node, d] of [...degree].sort((p, q) => (p[0] < q[0] ? -1 : 1))) {
      if (d <= spec.maxPeers) continue;
      issues.push({
        path: "maxPeers",
        message: `resilience: node gives ${node} ${d} peers (the ${core.length} core nodes link to each other and each other node has two homes there), above maxPeers ${spec.maxPeers}; raise maxPeers to ${d} or let more nodes carry transit`,
      });
    }
  }
  const links = [...byId.values()].sort((p, q) => (p.id < q.id ? -1 : p.id > q.id ? 1 : 0));
  return { links, skipped, issues, layout: { core, homes } };
}
