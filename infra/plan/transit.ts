/**
 * Which nodes may carry other nodes' traffic, and the explicit links that would make one that
 * may not the cheapest way between two others.
 *
 * It is the declaration's decision, the same in every topology (auto and the resilience planner
 * included): `transitRoles` says which roles may (default hub and POPs: the mesh's routers,
 * sized and placed for it, their firewalls admitting their peers), and a node's own `transit:`
 * says otherwise for that node. A backend runs workloads: forwarding there makes a workload VM a
 * router between other nodes (more load, a wider blast radius, and traffic that dies when the
 * workload is redeployed), so by default it does not. A node behind NAT never does, whatever it
 * says: it is reachable only through the mappings its own keepalives hold open, to the peers it
 * dials, and a path through it breaks whenever its NAT forgets one. A node that may not carry
 * transit is never on the inside of a path; an explicit link (or weight) that would have made it
 * the cheapest way between two others is refused, so the config says what the mesh does.
 */
import { type ConfigIssue, type MeshSpec, type NodeSpec, type PlannedLink, type Role } from "../model";
import { linkId, type NodeFacts } from "./facts";
import { toFixedCost } from "./weights";

/** The roles that carry transit unless the declaration's transitRoles says otherwise. */
export const DEFAULT_TRANSIT_ROLES: readonly Role[] = ["hub", "pop"];

export interface TransitPermission {
  /** Whether the node may be inside a path between two other nodes. */
  may: boolean;
  /** Why, in words for a person, naming the setting that decides it. */
  why: string;
  /** What decides it: the node sits behind NAT, its own `transit:`, or its role (transitRoles). */
  by: "nat" | "node" | "role";
  /** For a node that may not: the setting that would let it (none for a node behind NAT). */
  fix?: string;
}

/** True for a node with no public endpoint: an external node without one, which dials out. */
export function behindNat(node: Pick<NodeSpec, "cloud" | "external">): boolean {
  return node.cloud === "external" && !node.external?.endpoint;
}

/**
 * Whether `node` may carry other nodes' traffic, and why: the one rule the planner, `auto`, the
 * policy pack and the resilience planner all follow.
 */
export function transitPermission(node: Pick<NodeSpec, "name" | "role" | "cloud" | "external" | "transit">, mesh: Pick<MeshSpec, "transitRoles">): TransitPermission {
  if (behindNat(node)) return { may: false, by: "nat", why: "it sits behind NAT, reachable only while its keepalives hold a mapping open, so it never carries others' traffic" };
  if (node.transit === true) return { may: true, by: "node", why: `nodes.${node.name}.transit is true` };
  if (node.transit === false) return { may: false, by: "node", why: `nodes.${node.name}.transit is false`, fix: `remove nodes.${node.name}.transit: false` };
  const roles = mesh.transitRoles ?? DEFAULT_TRANSIT_ROLES;
  const rule = mesh.transitRoles ? `transitRoles: ${roles.join(", ")}` : `by default only ${roles.join(" and ")} nodes do`;
  if (roles.includes(node.role)) return { may: true, by: "role", why: `its role, ${node.role}, carries transit (${mesh.transitRoles ? `transitRoles: ${roles.join(", ")}` : "by default"})` };
  return {
    may: false,
    by: "role",
    why: node.role === "backend" ? `backends run workloads and do not carry others' traffic (${rule})` : `${node.role} nodes do not carry others' traffic here (${rule})`,
    fix: `set nodes.${node.name}.transit: true`,
  };
}

/** Shorthand: whether the node may carry others' traffic. */
export function mayCarryTransit(node: Pick<NodeSpec, "name" | "role" | "cloud" | "external" | "transit">, mesh: Pick<MeshSpec, "transitRoles">): boolean {
  return transitPermission(node, mesh).may;
}

/** Where each explicitly declared link (or weight) was written: link id -> `nodes.x.links[i]`. */
function declaredAt(spec: MeshSpec): Map<string, string> {
  const out = new Map<string, string>();
  for (const node of spec.nodes) {
    node.links.forEach((link, i) => {
      const id = linkId(node.name, link.peer);
      if (!out.has(id)) out.set(id, `nodes.${node.name}.links[${i}]`);
    });
  }
  return out;
}

function ms(cost: number): string {
  return `${Number((cost / 1000).toFixed(3))} ms`;
}

/**
 * One issue per explicit link that makes a non-transit node v cheaper between two of its
 * neighbours x and y than every path the mesh may use (`dist`: best cost between two nodes over
 * allowed paths; `hops`: that path's length). Checking neighbours suffices: any pair routed
 * through v would enter and leave it through two of them.
 */
export function transitRefusals(
  spec: MeshSpec,
  facts: ReadonlyMap<string, NodeFacts>,
  links: readonly PlannedLink[],
  dist: (a: string, b: string) => number,
  hops: (a: string, b: string) => number,
): ConfigIssue[] {
  const declared = declaredAt(spec);
  const around = new Map<string, { other: string; link: PlannedLink }[]>();
  for (const l of links) {
    for (const [v, other] of [
      [l.a, l.b],
      [l.b, l.a],
    ] as const) {
      const list = around.get(v) ?? [];
      list.push({ other, link: l });
      around.set(v, list);
    }
  }
  // Per declared link, the pair that needs the largest weight: raising it above that fixes every pair.
  const worst = new Map<string, { needed: number; issue: ConfigIssue }>();
  for (const [v, neighbours] of around) {
    const permission = transitPermission((facts.get(v) as NodeFacts).spec, spec);
    if (permission.may) continue;
    const reason = permission.why;
    const allow = permission.fix ? `, or ${permission.fix} to let it` : "";
    for (const [i, first] of neighbours.entries()) {
      for (const second of neighbours.slice(i + 1)) {
        for (const explicit of [first, second].filter((e) => declared.has(e.link.id))) {
          const [x, y] = [first.other, second.other];
          const through = toFixedCost(first.link.weight) + toFixedCost(second.link.weight);
          const without = dist(x, y);
          const cheaper = through < without || (through === without && hops(x, y) > 2);
          if (!cheaper) continue;
          const at = declared.get(explicit.link.id) as string;
          const otherLeg = explicit === first ? second : first;
          const needed = without - toFixedCost(otherLeg.link.weight);
          const before = worst.get(at);
          if (before && before.needed >= needed) continue;
          const role = facts.get(v)?.hasPublicEndpoint ? `a ${facts.get(v)?.spec.role}` : "behind NAT";
          worst.set(at, {
            needed,
            issue: {
              path: at,
              message:
                `with weight ${explicit.link.weight} this link makes ${v} (${role}) the cheapest way between ${x} and ${y} ` +
                `(${ms(through)} through ${v}, ${Number.isFinite(without) ? ms(without) : "no path"} without), but ${reason}; ` +
                `${Number.isFinite(without) && needed > 0 ? `give it a weight above ${ms(needed)}, ` : ""}link ${x} and ${y} directly${allow}`,
            },
          });
        }
      }
    }
  }
  const issues = new Map([...worst].map(([at, w]) => [at, w.issue]));
  return [...issues.values()];
}
