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
  type PlannedRoutes,
  type ResilienceLayout,
  type Role,
} from "../model";
import { latencyModelFor } from "../latency/model";
import { AddressBook, groupByNextHop } from "./allowedips";
import { ADDITIVE_SLACK_MS, DEFAULT_MAX_STRETCH } from "./auto";
import { latencyReport } from "./latency";
import { decideMtu, underlayMtuOf } from "./mtu";
import { allPairsShortestPaths, type AllPairsPaths } from "./paths";
import { toFixedCost } from "./weights";
import { configSizeIssues } from "./sizes";
import { candidateLinks, linkId, linkWeight, type CandidateLinks, type NodeFacts } from "./topology";
import { failoverTables } from "./failover";
import { resilientLinks } from "./resilient";
import { transitPermission, transitRefusals } from "./transit";

export { linkId } from "./topology";

const ROLE_ORDER: Record<Role, number> = { hub: 0, pop: 1, backend: 2 };

export interface PlanOptions {
  /** Refuse configs above their vault's size limit (default). The bench turns it off to measure them. */
  checkSizes?: boolean;
  /** Plan exactly these links instead of the topology's: how the bench holds other link choices to the same yardstick. */
  links?: readonly { a: string; b: string; weight: number }[];
}

export function planMesh(spec: MeshSpec, options: PlanOptions = {}): MeshPlan {
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
  } else if (!transitPermission(hubFacts.spec, spec).may) {
    issues.push({ path: `nodes.${spec.hub}.transit`, message: `the hub carries its spokes' traffic, but ${transitPermission(hubFacts.spec, spec).why}; let the hub carry transit` });
  }

  const candidates: CandidateLinks = options.links
    ? { links: options.links.map((l) => ({ id: linkId(l.a, l.b), a: l.a < l.b ? l.a : l.b, b: l.a < l.b ? l.b : l.a, weight: l.weight, origin: "explicit" as const })), skipped: [], issues: [] }
    : candidateLinks(spec, facts);
  issues.push(...candidates.issues);

  const names = spec.nodes.map((n) => n.name);
  const model = latencyModelFor(spec);
  let layout: ResilienceLayout | undefined;
  if (spec.resilience === "node" && !options.links) {
    const resilient = resilientLinks(spec, facts, candidates.links, (a, b) => linkWeight(model, facts.get(a) as NodeFacts, facts.get(b) as NodeFacts), (name) =>
      transitPermission((facts.get(name) as NodeFacts).spec, spec).may,
    );
    candidates.links = resilient.links;
    candidates.skipped.push(...resilient.skipped);
    issues.push(...resilient.issues);
    layout = resilient.layout;
  }
  const inCore = new Set(layout?.core ?? []);
  // Paths never cross a node that does not carry others' traffic (transit.ts says which and why);
  // in a resilient mesh only the core does, so that nodes outside it never choose between homes.
  const noTransit = new Set(
    spec.nodes.filter((n) => (layout ? !inCore.has(n.name) : !transitPermission(n, spec).may)).map((n) => n.name),
  );
  const carrying = candidates.links.filter((l) => !l.backup);
  const apsp = allPairsShortestPaths(names, carrying, { noTransit });
  const weightOf = new Map(carrying.map((l) => [linkId(l.a, l.b), toFixedCost(l.weight)]));
  const pathCost = (path: readonly string[] | undefined): number =>
    path ? path.slice(1).reduce((sum, b, i) => sum + (weightOf.get(linkId(path[i] as string, b)) ?? Infinity), 0) : Infinity;
  issues.push(
    ...transitRefusals(
      spec,
      facts,
      carrying,
      (a, b) => pathCost(apsp.pathOf(a, b)),
      (a, b) => (apsp.pathOf(a, b)?.length ?? Infinity) - 1,
    ),
  );
  const links = candidates.links.filter((l) => {
    if (l.backup) return true;
    const path = apsp.pathOf(l.a, l.b);
    if (path && path.length === 2) return true;
    // In a resilient mesh a core link no path takes today is the one a failure will need.
    if (layout && inCore.has(l.a) && inCore.has(l.b)) return true;
    candidates.skipped.push({ a: l.a, b: l.b, reason: `never on a shortest path: ${path?.join(" -> ") ?? "?"} is cheaper than the direct link (weight ${l.weight})` });
    return false;
  });

  // The link graph is undirected, so the hub (public, always transit) reaching all means everyone
  // does: every path runs through it if need be.
  const first = spec.hub;
  const cutOff = names.filter((b) => b !== first && !apsp.pathOf(first, b));
  if (cutOff.length > 0) {
    issues.push({ path: "topology", message: `${first} has no path to ${cutOff.join(", ")}; add links or give those nodes a public endpoint` });
  }

  const underlay = new Map(spec.nodes.map((n) => [n.name, { mtu: underlayMtuOf(n.cloud, n.underlayMtu), cloud: n.cloud }]));
  const mtu = decideMtu(spec.mtu, links, underlay);
  issues.push(...mtu.issues);
  if (issues.length > 0) throw new MeshConfigError(issues);

  const addressPlan = { roots: rootPrefixes(spec), regions: spec.regions.map((r) => parsePrefix(r.subnet) as Prefix) };
  const addressOf = spec.nodes.map((n) => parseIPv4(n.address) as number);
  const transit = transitNodes(apsp);
  const routeIndex = spec.nodes.map((n) => apsp.index.get(n.name) as number);

  const neighbours = new Map<string, Set<string>>(names.map((n) => [n, new Set()]));
  for (const l of links) {
    neighbours.get(l.a)?.add(l.b);
    neighbours.get(l.b)?.add(l.a);
  }

  const n = apsp.names.length;
  const book = new AddressBook(addressPlan, addressOf);
  const hops = new Int32Array(spec.nodes.length);
  const hubIndex = apsp.index.get(spec.hub);
  const tables = spec.nodes.map((_node, self) => {
    const row = (routeIndex[self] as number) * n;
    for (let d = 0; d < spec.nodes.length; d++) hops[d] = d === self ? 0 : (apsp.nextHop[row + (routeIndex[d] as number)] as number);
    return groupByNextHop(book.table(self, hops, apsp.names, hubIndex));
  });
  const failover = layout
    ? failoverTables({ names, links, noTransit, layout, book, apsp, hub: spec.hub, normal: new Map(names.map((name, i) => [name, tables[i] as Map<string, string[]>])), addresses: new Map(spec.nodes.map((x) => [x.name, x.address])) })
    : undefined;
  const nodes: PlannedNode[] = spec.nodes.map((node, self) => {
    const f = facts.get(node.name) as NodeFacts;
    const region = regions.get(node.region) as { subnet: string };
    const regionLen = (parsePrefix(region.subnet) as Prefix).len;
    const table = tables[self] as Map<string, string[]>;
    const entries = failover?.get(node.name);
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
      // A core node forwards whenever a failover routes through it, so it is set up for it from the start.
      forwarding: transit[apsp.index.get(node.name) as number] === 1 || inCore.has(node.name),
      peers,
      ...(entries ? { failover: entries } : {}),
    };
  });

  const routes = routesOf(apsp);
  const bound = { maxStretch: spec.maxStretch ?? DEFAULT_MAX_STRETCH, slackMs: ADDITIVE_SLACK_MS };
  const latency = latencyReport(spec.nodes, routes, model, bound);
  const plan: MeshPlan = {
    spec,
    mtu: mtu.mtu,
    mtuReason: mtu.reason,
    persistentKeepalive: spec.persistentKeepalive,
    links,
    skippedLinks: candidates.skipped,
    nodes,
    routes,
    ...(latency ? { latency } : {}),
    ...(layout ? { resilience: layout } : {}),
  };
  if (options.checkSizes !== false) {
    const tooBig = configSizeIssues(plan);
    if (tooBig.length > 0) throw new MeshConfigError(tooBig);
  }
  return plan;
}

/** Nodes inside some planned path: those some node forwards to for a destination other than themselves. */
function transitNodes(apsp: AllPairsPaths): Uint8Array {
  const n = apsp.names.length;
  const transit = new Uint8Array(n);
  for (let s = 0; s < n; s++) {
    const row = s * n;
    for (let d = 0; d < n; d++) {
      const hop = apsp.nextHop[row + d] as number;
      if (hop >= 0 && hop !== d && hop !== s) transit[hop] = 1;
    }
  }
  return transit;
}

function routesOf(apsp: AllPairsPaths): PlannedRoutes {
  const n = apsp.names.length;
  return {
    names: apsp.names,
    indexOf: (name) => apsp.index.get(name),
    next: (s, d) => apsp.nextHop[s * n + d] as number,
    pathOf: apsp.pathOf,
    table: () => apsp.nextHop,
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
