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
import { ADDITIVE_SLACK_MS, boundOf, DEFAULT_MAX_PEERS, DEFAULT_MAX_STRETCH } from "./auto/bound";
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
  _facts: ReadonlyMap<string, NodeFacts>,
  candidates: readonly PlannedLink[],
  weight: (a: string, b: string) => number,
  mayTransit: (name: string) => boolean,
): ResilientLinks {
  const issues: ConfigIssue[] = [];
  const skipped: SkippedLink[] = [];
  const names = spec.nodes.map((n) => n.name).sort();
  if (spec.topology === "full") return { links: candidates.map((l) => ({ ...l })), skipped, issues, layout: { core: [], homes: {} } };
  // Under auto the links are this layout's own: auto's choice assumed routes this layout does not take.
  const kept = spec.topology === "auto" ? candidates.filter((l) => l.origin === "explicit") : candidates;
  const byId = new Map(kept.map((l) => [l.id, { ...l }]));
  const maxPeers = spec.topology === "auto" ? (spec.maxPeers ?? DEFAULT_MAX_PEERS) : Infinity;

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
  const degree = new Map<string, number>(names.map((x) => [x, 0]));
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
  // A link to a core node that is neither home goes: a node with two live ways into the core would
  // pick between them per destination, and a failure it cannot see could change its pick.
  for (const [s, list] of linkedCore) {
    for (const c of list) byId.delete(linkId(s, c));
    linkedCore.set(s, list);
  }
  for (const l of byId.values()) for (const end of [l.a, l.b]) degree.set(end, (degree.get(end) ?? 0) + 1);
  const room = (c: string): boolean => (degree.get(c) as number) < maxPeers;
  const byDistance = (from: string, among: readonly string[]): string[] => [...among].sort((p, q) => weight(from, p) - weight(from, q) || (p < q ? -1 : 1));
  const pick = (from: string, preferred: readonly string[], exclude?: string): string | undefined => {
    const order = [...byDistance(from, preferred.filter((c) => c !== exclude)), ...byDistance(from, core.filter((c) => c !== exclude && !preferred.includes(c)))];
    return order.find(room) ?? order[0];
  };

  // Homes by regret: the node that loses most by not getting its nearest core node chooses first,
  // so that where the core's room runs out (maxPeers) the far-flung keep their near home.
  const outside = names.filter((x) => !inCore.has(x));
  const regret = (s: string): number => {
    const [first, second] = byDistance(s, core);
    return second === undefined ? 0 : weight(s, second) - weight(s, first as string);
  };
  const order = [...outside].sort((p, q) => regret(q) - regret(p) || (p < q ? -1 : 1));
  const preferredOf = (s: string): string[] => {
    const linked = linkedCore.get(s) ?? [];
    // The topology's own choice of way in, when it made one: the hub under `hub`, its nearest linked core node otherwise.
    return spec.topology === "hub" ? linked.filter((c) => hubs.has(c)) : linked;
  };
  const primaries = new Map<string, string>();
  for (const s of order) {
    const primary = pick(s, preferredOf(s)) as string;
    primaries.set(s, primary);
    add(s, primary);
    degree.set(s, (degree.get(s) as number) + 1);
    degree.set(primary, (degree.get(primary) as number) + 1);
  }
  const homes: ResilienceLayout["homes"] = {};
  for (const s of order) {
    const primary = primaries.get(s) as string;
    const backup = pick(s, linkedCore.get(s) ?? [], primary) as string;
    homes[s] = { primary, backup };
    add(s, backup).backup = true;
    degree.set(s, (degree.get(s) as number) + 1);
    degree.set(backup, (degree.get(backup) as number) + 1);
    for (const c of linkedCore.get(s) ?? []) {
      if (c === primary || c === backup) continue;
      const [a, b] = s < c ? [s, c] : [c, s];
      skipped.push({ a, b, reason: `resilience: node sends ${s}'s traffic through one home (${primary}) with one backup (${backup})` });
    }
  }
  if (spec.topology === "auto") directLinks(spec, names, inCore, homes, weight, degree, maxPeers, add);

  const over = [...degree].filter(([, d]) => d > maxPeers).sort((p, q) => q[1] - p[1] || (p[0] < q[0] ? -1 : 1));
  if (over.length > 0) {
    // What the layout needs at the least: the other core nodes, and an even share of the homes.
    const needed = core.length - 1 + Math.ceil((2 * outside.length) / core.length);
    issues.push({
      path: "maxPeers",
      message:
        `resilience: node links each of the ${core.length} core nodes to the others and gives each of the ${outside.length} other nodes two homes there, ` +
        `which needs maxPeers ${needed} or more (${over.slice(0, 3).map(([node, d]) => `${node} would have ${d}`).join(", ")}${over.length > 3 ? ", ..." : ""}); ` +
        `raise maxPeers to ${Math.max(needed, over[0]?.[1] ?? needed)} or let more nodes carry transit`,
    });
  }
  const links = [...byId.values()].sort((p, q) => (p.id < q.id ? -1 : p.id > q.id ? 1 : 0));
  return { links, skipped, issues, layout: { core, homes } };
}

/**
 * Under auto, pairs of nodes outside the core whose way through their homes misses the latency bound
 * get a direct link, worst first, while both have room: such a link carries only its pair (neither
 * end forwards), so no failure elsewhere touches it.
 */
function directLinks(
  spec: MeshSpec,
  names: readonly string[],
  inCore: ReadonlySet<string>,
  homes: ResilienceLayout["homes"],
  weight: (a: string, b: string) => number,
  degree: Map<string, number>,
  maxPeers: number,
  add: (a: string, b: string) => PlannedLink,
): void {
  const core = [...inCore];
  // Shortest round trips inside the core (Floyd-Warshall over the clique: a few nodes).
  const at = new Map(core.map((c, i) => [c, i]));
  const k = core.length;
  const d = new Float64Array(k * k);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) d[i * k + j] = i === j ? 0 : weight(core[i] as string, core[j] as string);
  for (let m = 0; m < k; m++) for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) d[i * k + j] = Math.min(d[i * k + j] as number, (d[i * k + m] as number) + (d[m * k + j] as number));
  const viaHomes = (s: string, t: string): number => {
    const ps = (homes[s] as { primary: string }).primary;
    const pt = (homes[t] as { primary: string }).primary;
    return weight(s, ps) + (d[(at.get(ps) as number) * k + (at.get(pt) as number)] as number) + weight(pt, t);
  };
  const bound = { maxStretch: spec.maxStretch ?? DEFAULT_MAX_STRETCH, slackMs: ADDITIVE_SLACK_MS };
  const outside = names.filter((x) => !inCore.has(x) && homes[x]);
  const natted = new Set(spec.nodes.filter((x) => x.cloud === "external" && !x.external?.endpoint).map((x) => x.name));
  const misses: { s: string; t: string; excess: number }[] = [];
  for (let i = 0; i < outside.length; i++) {
    for (let j = i + 1; j < outside.length; j++) {
      const s = outside[i] as string;
      const t = outside[j] as string;
      if (natted.has(s) && natted.has(t)) continue;
      const direct = weight(s, t);
      const excess = viaHomes(s, t) - boundOf(direct, bound);
      if (excess > 0) misses.push({ s, t, excess });
    }
  }
  misses.sort((p, q) => q.excess - p.excess || (p.s < q.s ? -1 : p.s > q.s ? 1 : p.t < q.t ? -1 : 1));
  for (const { s, t } of misses) {
    if ((degree.get(s) as number) >= maxPeers || (degree.get(t) as number) >= maxPeers) continue;
    add(s, t);
    degree.set(s, (degree.get(s) as number) + 1);
    degree.set(t, (degree.get(t) as number) + 1);
  }
}
