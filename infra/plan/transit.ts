/**
 * Which nodes may carry other nodes' traffic, and the explicit links that would make one that
 * may not the cheapest way between two others.
 *
 * Transit is for the hub and POPs with a public endpoint: they are the mesh's routers, sized
 * and placed for it, and their firewalls admit their peers. A backend runs workloads: turning
 * on forwarding there makes a workload VM a router between other nodes (more load, a wider
 * blast radius, and traffic that dies when the workload is redeployed). A node behind NAT is
 * reachable only through the mappings its own keepalives hold open, to the peers it dials; a
 * path through it breaks whenever its NAT forgets a mapping, and it is usually a laptop or an
 * office box that nobody expects to route for the rest of the mesh. So neither is ever on the
 * inside of a path. An explicit link (or an explicit weight) that would have made one of them
 * the cheapest way between two others is refused, so the config says what the mesh does.
 *
 * Under `topology: auto` wg-mesh designs the links itself and may need a backend with a public
 * endpoint as a metro's transit (a site with no hub or POP); it turns forwarding on there, so
 * there only nodes behind NAT are left out.
 */
import type { ConfigIssue, MeshSpec, PlannedLink, TopologyMode } from "../model";
import { linkId, type NodeFacts } from "./topology";
import { toFixedCost } from "./weights";

/** Why a node may not carry others' traffic, or undefined when it may. */
export function noTransitReason(facts: NodeFacts, topology: TopologyMode): string | undefined {
  if (!facts.hasPublicEndpoint) return "it sits behind NAT, reachable only while its keepalives hold a mapping open, so it never carries others' traffic";
  if (facts.spec.role === "backend" && topology !== "auto") return "backends run workloads and never carry others' traffic (only the hub and POPs do)";
  return undefined;
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
    const reason = noTransitReason(facts.get(v) as NodeFacts, spec.topology);
    if (!reason) continue;
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
                `${Number.isFinite(without) && needed > 0 ? `give it a weight above ${ms(needed)}, or ` : ""}link ${x} and ${y} directly`,
            },
          });
        }
      }
    }
  }
  const issues = new Map([...worst].map(([at, w]) => [at, w.issue]));
  return [...issues.values()];
}
