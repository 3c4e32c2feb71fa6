/**
 * Nodes of other stacks (their `mesh` outputs, read through StackReferences) joined to this
 * stack's declaration as external nodes. They are checked like local ones: one name, one
 * address and one meaning per region subnet across every stack of the mesh, reported as
 * `peerStacks[0] (acme/wg-mesh/apac): node hkg's address 10.50.5.1 is also nodes.x.address here`.
 */
import { containsIp, overlaps, parseIPv4, parsePrefix, type Prefix } from "./cidr";
import { isEndpointHost } from "./config";
import { formatPath, ownWords } from "./config/issues";
import { endpointHost } from "./firewall";
import { meshExportSchema, type MeshExport } from "./mesh-export";
import { MeshConfigError, type ConfigIssue, type MeshPlan, type MeshSpec, type NodeSpec, type RegionSpec } from "./model";

/** A peer stack's `mesh` output as read, not yet trusted. `index` is its place in peerStacks. */
export interface PeerMesh {
  index: number;
  stack: string;
  mesh: unknown;
}

/** How issues name a peer stack: `peerStacks[0] (acme/wg-mesh/apac)`. */
export function peerPath(peer: { index: number; stack: string }): string {
  return `peerStacks[${peer.index}] (${peer.stack})`;
}

/** A peer stack's output after validation. */
export interface ImportedMesh {
  index: number;
  stack: string;
  mesh: MeshExport;
}

interface Owner {
  /** How an issue names where the other one was declared. */
  where: string;
}

/**
 * The local spec with every peer's nodes and regions added; throws MeshConfigError with every
 * problem. Peers whose output is missing are expected to be filtered out by the caller (and
 * reported as skipped there).
 */
export function mergePeerMeshes(local: MeshSpec, peers: readonly PeerMesh[]): { spec: MeshSpec; imported: ImportedMesh[] } {
  const issues: ConfigIssue[] = [];
  const imported: ImportedMesh[] = [];
  for (const peer of peers) {
    const parsed = meshExportSchema.safeParse(peer.mesh);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        issues.push({ path: peerPath(peer), message: `its mesh output is not one wg-mesh wrote: ${formatPath("", issue.path) || "(top)"}: ${issue.message === "holds a control character" ? issue.message : ownWords(issue, `run pulumi up in ${peer.stack} with a current wg-mesh`)}` });
      }
      continue;
    }
    imported.push({ index: peer.index, stack: peer.stack, mesh: parsed.data });
  }

  const regions = new Map<string, { region: RegionSpec; prefix: Prefix | undefined; owner: Owner }>();
  for (const r of local.regions) regions.set(r.name, { region: r, prefix: parsePrefix(r.subnet), owner: { where: `regions.${r.name} here` } });
  const names = new Map<string, Owner>(local.nodes.map((n) => [n.name, { where: `nodes.${n.name} here` }]));
  const addresses = new Map<number, Owner>();
  for (const n of local.nodes) {
    const ip = parseIPv4(n.address);
    if (ip !== undefined) addresses.set(ip, { where: `nodes.${n.name}.address here` });
  }
  const keys = new Map<string, Owner>();

  const mergedRegions = [...local.regions];
  const mergedNodes = [...local.nodes];
  for (const peer of imported) {
    const at = peerPath(peer);
    const there = `in ${at}`;
    const m = peer.mesh;
    if (m.listenPort !== local.listenPort) {
      issues.push({ path: at, message: `its listenPort is ${m.listenPort}, here it is ${local.listenPort}; a mesh listens on one port: set listenPort the same in every stack` });
    }
    if (m.topology !== local.topology || m.hub !== local.hub) {
      issues.push({
        path: at,
        message: `it plans topology ${m.topology} with hub ${m.hub}, here topology ${local.topology} with hub ${local.hub}; stacks of one mesh must agree on both, or they disagree about who links to whom`,
      });
    }

    const theirRegions = new Map<string, Prefix | undefined>();
    for (const r of m.regions) {
      const prefix = parsePrefix(r.subnet);
      theirRegions.set(r.name, prefix);
      if (!prefix) {
        issues.push({ path: at, message: `region ${r.name}'s subnet ${r.subnet} is not an IPv4 prefix` });
        continue;
      }
      const same = regions.get(r.name);
      if (same) {
        if (same.region.subnet !== r.subnet || same.region.area !== r.area) {
          issues.push({ path: at, message: `region ${r.name} is ${r.subnet} (area ${r.area}) there but ${same.region.subnet} (area ${same.region.area}) at ${same.owner.where}; a region means one subnet everywhere` });
        }
        continue;
      }
      const clash = [...regions.values()].find((o) => o.prefix && overlaps(o.prefix, prefix));
      if (clash) {
        issues.push({ path: at, message: `region ${r.name}'s subnet ${r.subnet} overlaps region ${clash.region.name} (${clash.region.subnet}) at ${clash.owner.where}; give the regions disjoint subnets` });
        continue;
      }
      const region = { name: r.name, subnet: r.subnet, area: r.area };
      regions.set(r.name, { region, prefix, owner: { where: `region ${r.name} ${there}` } });
      mergedRegions.push(region);
    }

    for (const n of m.nodes) {
      const problems: string[] = [];
      const sameName = names.get(n.name);
      if (sameName) problems.push(`node ${n.name} is also ${sameName.where}; node names are unique across the stacks of a mesh`);
      const ip = parseIPv4(n.address);
      if (ip === undefined) {
        problems.push(`node ${n.name}'s address ${n.address} is not an IPv4 address`);
      } else {
        const other = addresses.get(ip);
        if (other) problems.push(`node ${n.name}'s address ${n.address} is also ${other.where}`);
        const regionPrefix = theirRegions.get(n.region);
        if (!theirRegions.has(n.region)) problems.push(`node ${n.name}'s region ${n.region} is not among its regions`);
        else if (regionPrefix && !containsIp(regionPrefix, ip)) problems.push(`node ${n.name}'s address ${n.address} is outside its region ${n.region} (${formatRegion(m, n.region)})`);
      }
      const sameKey = keys.get(n.publicKey);
      if (sameKey) problems.push(`node ${n.name}'s public key is also ${sameKey.where}; every node needs its own key`);
      if (n.endpoint !== undefined && !isEndpointHost(endpointHost(n.endpoint))) problems.push(`node ${n.name}'s endpoint ${n.endpoint} is not a host name or IPv4 address`);
      if (n.role === "hub" && n.name !== m.hub) problems.push(`node ${n.name} has role hub but its stack's hub is ${m.hub}`);
      if (problems.length > 0) {
        issues.push(...problems.map((message) => ({ path: at, message })));
        continue;
      }
      names.set(n.name, { where: `node ${n.name} ${there}` });
      addresses.set(ip as number, { where: `node ${n.name}'s address ${there}` });
      keys.set(n.publicKey, { where: `node ${n.name}'s key ${there}` });
      mergedNodes.push(importedNode(n, peer.stack));
    }
  }

  const hub = mergedNodes.find((n) => n.name === local.hub);
  if (!hub) {
    issues.push({ path: "hub", message: `${local.hub} is neither a node here nor in the mesh output of a peer stack; deploy the stack that holds the hub first` });
  } else if (hub.role !== "hub") {
    issues.push({ path: "hub", message: `${local.hub} has role ${hub.role}${hub.external?.stack ? ` in ${hub.external.stack}` : ""}; name the node whose role is hub` });
  }
  const known = new Set(mergedNodes.map((n) => n.name));
  for (const n of local.nodes) {
    n.links.forEach((link, i) => {
      if (!known.has(link.peer)) issues.push({ path: `nodes.${n.name}.links[${i}]`, message: `unknown node ${link.peer}: neither a node here nor in the mesh output of a peer stack` });
    });
  }
  if (issues.length > 0) throw new MeshConfigError(issues);
  return { spec: { ...local, regions: mergedRegions, nodes: mergedNodes }, imported };
}

function importedNode(n: MeshExport["nodes"][number], stack: string): NodeSpec {
  return {
    name: n.name,
    role: n.role,
    region: n.region,
    site: n.site,
    address: n.address,
    cloud: "external",
    external: { publicKey: n.publicKey, stack, ...(n.endpoint !== undefined ? { endpoint: n.endpoint } : {}) },
    underlayMtu: n.underlayMtu,
    // Its own stack decides whether it carries transit; this one follows, so both plan the same paths.
    ...(n.transit !== undefined ? { transit: n.transit } : {}),
    links: [],
  };
}

function formatRegion(m: MeshExport, name: string): string {
  return m.regions.find((r) => r.name === name)?.subnet ?? "?";
}


/**
 * Links this stack plans to a peer's nodes against those the peer says it plans to ours. They
 * differ while a two-stack bootstrap is half done, or when the stacks disagree; either way a
 * tunnel with only one side configured carries nothing, so people should hear about it.
 */
export function crossStackDrift(plan: MeshPlan, localNames: ReadonlySet<string>, peers: readonly ImportedMesh[]): string[] {
  const out: string[] = [];
  for (const peer of peers) {
    const theirNames = new Set(peer.mesh.nodes.map((n) => n.name));
    const crosses = (a: string, b: string): boolean => (localNames.has(a) && theirNames.has(b)) || (localNames.has(b) && theirNames.has(a));
    const ours = new Set(plan.links.filter((l) => crosses(l.a, l.b)).map((l) => l.id));
    const theirs = new Set(
      peer.mesh.links.filter((id) => {
        const [a, b] = id.split("--");
        return a !== undefined && b !== undefined && crosses(a, b);
      }),
    );
    const at = peerPath(peer);
    if (ours.size > 0 && theirs.size === 0) {
      out.push(`${at}: plans no links to this stack's nodes yet, so the ${ours.size} links planned here stay down until it is updated: run pulumi up in ${peer.stack} after this update`);
      continue;
    }
    for (const id of ours) if (!theirs.has(id)) out.push(`${at}: link ${id} is planned here but not there; update ${peer.stack} or check that both stacks declare the same mesh settings`);
    for (const id of theirs) if (!ours.has(id)) out.push(`${at}: link ${id} is planned there but not here; update this stack or check that both stacks declare the same mesh settings`);
  }
  return out;
}
