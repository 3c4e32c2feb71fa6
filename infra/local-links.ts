/**
 * Links that can exist between two of this stack's own nodes, known from the declaration
 * alone. Preshared keys are resources, and resources are made before the plan is known when
 * the plan waits for other stacks' outputs; so keys are made for every link the topology could
 * plan between local nodes (a superset of the planned ones: the planner only drops links).
 * Links to other stacks' nodes get no preshared key on either side: neither could share it.
 */
import type { MeshSpec, NodeSpec } from "./model";
import { candidateLinks, linkId, type NodeFacts } from "./plan/topology";

export function possibleLocalLinks(spec: MeshSpec): string[] {
  if (spec.topology === "auto" && spec.peerStacks.length > 0) {
    // auto chooses links from every node of the mesh, other stacks' too: any local pair may be one.
    const natted = (n: NodeSpec) => n.cloud === "external" && !n.external?.endpoint;
    const ids: string[] = [];
    spec.nodes.forEach((a, i) => spec.nodes.slice(i + 1).forEach((b) => !(natted(a) && natted(b)) && ids.push(linkId(a.name, b.name))));
    return ids.sort();
  }
  const areas = new Map(spec.regions.map((r) => [r.name, r.area]));
  const local = new Set(spec.nodes.map((n) => n.name));
  // A hub that lives in another stack still decides which local nodes link to it; a stand-in
  // keeps the topology rules whole, and links to it are dropped below.
  const standIn: NodeSpec[] = local.has(spec.hub) ? [] : [{ name: spec.hub, role: "hub", region: "", site: "", address: "", cloud: "external", external: { endpoint: "hub" }, links: [] }];
  const nodes = [...spec.nodes, ...standIn];
  const facts = new Map<string, NodeFacts>(
    nodes.map((n) => [n.name, { spec: n, area: areas.get(n.region) ?? "", hasPublicEndpoint: !(n.cloud === "external" && !n.external?.endpoint) }]),
  );
  return candidateLinks({ ...spec, nodes }, facts)
    .links.filter((l) => local.has(l.a) && local.has(l.b))
    .map((l) => l.id);
}
