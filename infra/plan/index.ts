/**
 * The planner: a validated MeshSpec in, every node's peers and AllowedIPs out.
 * topology (which links) -> paths (unique shortest paths) -> AllowedIPs (aggregated
 * next-hop tables) -> forwarding (exactly the transit nodes) -> MTU.
 */
import { containsPrefix, parseIPv4, parsePrefix, type Prefix } from "../cidr";
import {
  MeshConfigError,
  type ConfigIssue,
  type MeshPlan,
  type MeshSpec,
  type PlannedNode,
  type PlannedPeer,
  type Role,
} from "../model";
import { aggregate, groupByNextHop, type Destination } from "./allowedips";
import { decideMtu, underlayMtuOf } from "./mtu";
import { allPairsShortestPaths } from "./paths";
import { candidateLinks, linkId, type NodeFacts } from "./topology";
import { noTransitReason, transitRefusals } from "./transit";

export { linkId } from "./topology";

const ROLE_ORDER: Record<Role, number> = { hub: 0, pop: 1, backend: 2 };

export function planMesh(spec: MeshSpec): MeshPlan {
  const issues: ConfigIssue[] = [];
  const regions = new Map(spec.regions.map((r) => [r.name, r]));
  const facts = new Map<string, NodeFacts>();
  for (const node of spec.nodes) {
    const region = regions.get(node.region);
    if (!region) throw new MeshConfigError([{ path: `nodes.${node.name}.region`, message: `unknown region ${node.region}` }]);
    const natted = node.cloud === "external" && !node.external?.endpoint;
    facts.set(node.name, { spec: node, area: region.area, hasPublicEndpoint: !natted });
  }
  const hubFacts = facts.get(spec.hub);
  if (!hubFacts) {
    throw new MeshConfigError([{ path: "hub", message: `${spec.hub} is not a node of this mesh${spec.peerStacks.length > 0 ? "; it is expected from peerStacks, which only the stack program reads (pulumi preview)" : ""}` }]);
  }
  for (const node of spec.nodes) {
    node.links.forEach((link, i) => {
      if (!facts.has(link.peer)) issues.push({ path: `nodes.${node.name}.links[${i}]`, message: `unknown node ${link.peer}` });
    });
  }
  if (!hubFacts.hasPublicEndpoint) {
    issues.push({ path: `nodes.${spec.hub}.external.endpoint`, message: "the hub must be reachable: give it a public endpoint" });
  }

  const candidates = candidateLinks(spec, facts);
  issues.push(...candidates.issues);

  const names = spec.nodes.map((n) => n.name);
  const mayTransit = (name: string): boolean => noTransitReason(facts.get(name) as NodeFacts) === undefined;
  const apsp = allPairsShortestPaths(names, candidates.links, mayTransit);
  issues.push(
    ...transitRefusals(
      spec,
      facts,
      candidates.links,
      (a, b) => apsp.dist[apsp.names.indexOf(a)]?.[apsp.names.indexOf(b)] ?? Infinity,
      (a, b) => (apsp.pathOf(a, b)?.length ?? Infinity) - 1,
    ),
  );
  const links = candidates.links.filter((l) => {
    const path = apsp.pathOf(l.a, l.b);
    if (path && path.length === 2) return true;
    candidates.skipped.push({ a: l.a, b: l.b, reason: `never on a shortest path: ${path?.join(" -> ") ?? "?"} is cheaper than the direct link (weight ${l.weight})` });
    return false;
  });

  // The link graph is undirected, so one node reaching all means everyone does.
  const first = names[0] as string;
  const cutOff = names.filter((b) => b !== first && !apsp.pathOf(first, b));
  if (cutOff.length > 0) {
    issues.push({ path: "topology", message: `${first} has no path to ${cutOff.join(", ")}; add links or give those nodes a public endpoint` });
  }

  const underlay = new Map(spec.nodes.map((n) => [n.name, { mtu: underlayMtuOf(n.cloud, n.underlayMtu), cloud: n.cloud }]));
  const mtu = decideMtu(spec.mtu, links, underlay);
  issues.push(...mtu.issues);
  if (issues.length > 0) throw new MeshConfigError(issues);

  const addressPlan = { roots: rootPrefixes(spec), regions: spec.regions.map((r) => parsePrefix(r.subnet) as Prefix) };
  const addressOf = new Map(spec.nodes.map((n) => [n.name, parseIPv4(n.address) as number]));
  const transit = new Set<string>();
  const paths: Record<string, Record<string, string[]>> = {};
  for (const a of names) {
    const row: Record<string, string[]> = {};
    for (const b of names) {
      if (a === b) continue;
      const path = apsp.pathOf(a, b) as string[];
      row[b] = path;
      for (const mid of path.slice(1, -1)) transit.add(mid);
    }
    paths[a] = row;
  }

  const neighbours = new Map<string, Set<string>>(names.map((n) => [n, new Set()]));
  for (const l of links) {
    neighbours.get(l.a)?.add(l.b);
    neighbours.get(l.b)?.add(l.a);
  }

  const nodes: PlannedNode[] = spec.nodes.map((node) => {
    const f = facts.get(node.name) as NodeFacts;
    const region = regions.get(node.region) as { subnet: string };
    const regionLen = (parsePrefix(region.subnet) as Prefix).len;
    const destinations: Destination[] = names
      .filter((d) => d !== node.name)
      .map((d) => ({ ip: addressOf.get(d) as number, nextHop: (paths[node.name] as Record<string, string[]>)[d]?.[1] as string }));
    const table = groupByNextHop(aggregate(destinations, addressPlan, spec.hub));
    const peers: PlannedPeer[] = [...(neighbours.get(node.name) as Set<string>)]
      .map((peer) => ({
        name: peer,
        linkId: linkId(node.name, peer),
        allowedIps: table.get(peer) ?? [],
        dialsPeer: (facts.get(peer) as NodeFacts).hasPublicEndpoint,
      }))
      .sort((p, q) => peerOrder(facts, p.name) - peerOrder(facts, q.name) || (p.name < q.name ? -1 : 1));
    return {
      name: node.name,
      role: node.role,
      cloud: node.cloud,
      site: node.site,
      region: node.region,
      area: f.area,
      address: node.address,
      interfaceAddress: `${node.address}/${regionLen}`,
      listenPort: spec.listenPort,
      underlayMtu: underlay.get(node.name)?.mtu as number,
      hasPublicEndpoint: f.hasPublicEndpoint,
      forwarding: transit.has(node.name),
      peers,
    };
  });

  return {
    spec,
    mtu: mtu.mtu,
    mtuReason: mtu.reason,
    persistentKeepalive: spec.persistentKeepalive,
    links,
    skippedLinks: candidates.skipped,
    nodes,
    paths,
  };
}

function peerOrder(facts: Map<string, NodeFacts>, name: string): number {
  return ROLE_ORDER[(facts.get(name) as NodeFacts).spec.role];
}

/** The overlay, plus the subnets of any node outside it (imported from another stack), without nesting. */
function rootPrefixes(spec: MeshSpec): Prefix[] {
  const overlay = parsePrefix(spec.overlay) as Prefix;
  const candidates: Prefix[] = [overlay];
  const regionPrefix = new Map(spec.regions.map((r) => [r.name, parsePrefix(r.subnet) as Prefix]));
  for (const node of spec.nodes) {
    const p = regionPrefix.get(node.region) as Prefix;
    if (!containsPrefix(overlay, p)) candidates.push(p);
  }
  return candidates.filter((p, i) => !candidates.some((q, j) => j !== i && containsPrefix(q, p) && (q.len < p.len || j < i)));
}
