/**
 * What a deployed mesh tells its operators (the Mesh component's `nodes` and `summary` outputs):
 * plain data, built from the plan and the simulation, nothing secret.
 */
import type { ResilienceReport } from "./simulate/resilience";
import { accessSummary, type AccessSummary } from "./access/summary";
import type { ImportedMesh } from "./imports";
import type { Cloud, MeshPlan, Role } from "./model";
import { placementOf } from "./render/wgquick";
import type { VaultLocator } from "./vault";
import { summaryLine } from "./simulate/lint";
import type { SimulationSummary } from "./simulate/types";

/** A [Peer] a node's wg0.conf lists, as `wg show` should show it on the node. */
export interface PeerReport {
  /** The peer's name. */
  name: string;
  /** The prefixes routed to it and accepted from it. */
  allowedIps: string[];
  /** Where the node dials it (host:port); absent when the peer dials in. */
  endpoint?: string;
}

/** Where a node's wg0.conf is kept. */
export interface VaultReport {
  /** AWS Secrets Manager, GCP Secret Manager or Azure Key Vault. */
  service: string;
  /** The secret's name (id) there. */
  secret: string;
  /** Its region, project or vault. */
  location: string;
}

/** One node, as an operator looks it up on a bad day. */
export interface NodeReport {
  /** hub, pop or backend. */
  role: Role;
  /** aws, gcp, azure or external. */
  cloud: Cloud;
  /** Its location code. */
  site: string;
  /** Its address-plan region. */
  region: string;
  /** The area its region belongs to. */
  area: string;
  /** Where it runs: its cloud region, zone or location, or its endpoint ("behind NAT" without one). */
  placement: string;
  /** Its public IPv4; absent for an external node behind NAT or known by name. */
  publicIp?: string;
  /** Its overlay address, without prefix. */
  overlayAddress: string;
  /** Its wg-quick Address: the overlay address with its region's prefix length. */
  address: string;
  /** The UDP port it listens on. */
  listenPort: number;
  /** Its tunnel MTU. */
  mtu: number;
  /** Whether other nodes' traffic crosses it (ip_forward and the FORWARD rule are on). */
  forwards: boolean;
  /** Its WireGuard public key. */
  publicKey: string;
  /** host:port its peers dial; absent behind NAT. */
  endpoint?: string;
  /** The peers it should have, with AllowedIPs and Endpoint. */
  peers: PeerReport[];
  /** Where its wg0.conf is kept; absent for external nodes. */
  vault?: VaultReport;
  /** The vault secret holding its wg0.conf (ARN, Secret Manager name or Key Vault secret id); absent for external nodes. */
  vaultSecretRef?: string;
  /** Its VM as the cloud's console names it: EC2 instance id, GCP instance name or Azure VM id; absent for external nodes. */
  instance?: string;
  /** How to log in. */
  ssh: string;
  /** A command that shows whether the VM ran its bootstrap, without its network or its agent (docs/node-agent.md); absent for external nodes. */
  bootstrap?: string;
  /** Sources admitted to its WireGuard port. */
  wireguardFrom: string[];
  /** The key epoch its key was made for (bump keyEpoch to rotate). */
  keyEpoch: number;
}

/** The pairs whose packets cross a transit node. */
export interface TransitReport {
  /** How many ordered pairs cross it. */
  pairs: number;
  /** Those pairs as "a -> b", the first ones when there are many (wgmesh plan lists every path). */
  examples: string[];
}

/** Who imported what from another stack. */
export interface ImportedStack {
  /** The peer stack's name. */
  stack: string;
  /** Its nodes that joined this mesh. */
  nodes: string[];
}

/** The mesh as planned and proven. */
export interface MeshSummary {
  /** The topology it was planned with. */
  topology: string;
  /** The tunnel MTU of every node. */
  mtu: number;
  /** Why the MTU is what it is. */
  mtuReason: string;
  /** Direct links, as "a--b". */
  links: string[];
  /** Links the planner did not make, with why. */
  skippedLinks: string[];
  /** "N of M ordered pairs reachable" in the simulator. */
  reachable: string;
  /** How many ordered pairs the simulator carried. */
  reachablePairs: number;
  /** How many ordered pairs there are. */
  orderedPairs: number;
  /** Nodes imported from peer stacks. */
  importedFrom: ImportedStack[];
  /** Per transit node, the ordered pairs that go through it: what a failure of that node cuts. */
  transit: { [node: string]: TransitReport };
  /** The key epoch every key was made for. */
  keyEpoch: number;
  /** The access policy inside the mesh (infra/access): whether one is declared, and its size. */
  access: AccessSummary;
  /** Single failures: how many the mesh survives, and the nodes and links whose loss cuts pairs. */
  resilience: ResilienceSummary;
}

export interface ResilienceSummary {
  /** "node" when every node runs a failover watchdog (resilience: node), "none" otherwise. */
  mode: string;
  /** "N of M" single node failures after which every surviving pair is still reachable. */
  nodesSurvived: string;
  /** "N of M" single link failures after which every surviving pair is still reachable. */
  linksSurvived: string;
  /** Nodes and links whose loss cuts pairs, most pairs first: "ireland down: 98 pairs". */
  singlePoints: string[];
}

/** At most this many single points are named; the counts are always whole. */
export const SINGLE_POINTS_LISTED = 50;

export function resilienceSummary(r: ResilienceReport): ResilienceSummary {
  return {
    mode: r.mode,
    nodesSurvived: `${r.nodes.survived} of ${r.nodes.total}`,
    linksSurvived: `${r.links.survived} of ${r.links.total}`,
    singlePoints: r.singlePoints.slice(0, SINGLE_POINTS_LISTED).map((p) => `${p.label}: ${p.lost} pairs`),
  };
}

/** At most this many pairs are listed per transit node; the count is always whole. */
export const TRANSIT_EXAMPLES = 50;

export function transitReport(plan: MeshPlan): { [node: string]: TransitReport } {
  const out: { [node: string]: TransitReport } = {};
  for (const node of plan.nodes) if (node.forwarding) out[node.name] = { pairs: 0, examples: [] };
  // Walked on the next-hop table: a list of paths would be a million arrays at a thousand nodes.
  const { names } = plan.routes;
  const table = plan.routes.table();
  const n = names.length;
  for (let s = 0; s < n; s++) {
    for (let d = 0; d < n; d++) {
      if (s === d) continue;
      for (let at = table[s * n + d] as number; at >= 0 && at !== d; at = table[at * n + d] as number) {
        const t = out[names[at] as string];
        if (!t) continue;
        t.pairs++;
        if (t.examples.length < TRANSIT_EXAMPLES) t.examples.push(`${names[s]} -> ${names[d]}`);
      }
    }
  }

  return out;
}

/** What the plan says of a node, for its report. */
export function plannedFacts(plan: MeshPlan, name: string): Pick<NodeReport, "site" | "region" | "area" | "placement" | "address" | "listenPort" | "mtu" | "forwards" | "keyEpoch"> {
  const node = plan.nodes.find((n) => n.name === name);
  if (!node) throw new Error(`no node named ${name} in the plan`);
  return {
    site: node.site,
    region: node.region,
    area: node.area,
    placement: placementOf(plan, name),
    address: node.interfaceAddress,
    listenPort: node.listenPort,
    mtu: plan.mtu,
    forwards: node.forwarding,
    keyEpoch: plan.spec.keyEpoch,
  };
}

/** A vault locator in an operator's words. */
export function vaultReport(vault: VaultLocator | undefined, secretRef?: string): VaultReport | undefined {
  switch (vault?.kind) {
    case "aws-secretsmanager":
      return { service: "AWS Secrets Manager", secret: vault.secretName, location: vault.region };
    case "gcp-secretmanager":
      return { service: "GCP Secret Manager", secret: vault.secretId, location: `project ${vault.project}` };
    case "azure-keyvault":
      // The vault's name has a random part chosen at deploy; the secret's id (https://NAME.vault.azure.net/secrets/...) says it.
      return { service: "Azure Key Vault", secret: vault.secretName, location: `vault ${/^https:\/\/([^.]+)\.vault\.azure\.net\//.exec(secretRef ?? "")?.[1] ?? "(named at deploy)"}` };
    default:
      return undefined;
  }
}

export function summarize(plan: MeshPlan, report: Pick<SimulationSummary, "reachable" | "total">, imported: readonly ImportedMesh[], resilience: ResilienceReport): MeshSummary {
  return {
    topology: plan.spec.topology,
    mtu: plan.mtu,
    mtuReason: plan.mtuReason,
    links: plan.links.map((l) => l.id),
    skippedLinks: plan.skippedLinks.map((l) => `${l.a} -- ${l.b}: ${l.reason}`),
    reachable: summaryLine(report),
    reachablePairs: report.reachable,
    orderedPairs: report.total,
    importedFrom: imported.map((i) => ({ stack: i.stack, nodes: i.mesh.nodes.map((n) => n.name) })),
    transit: transitReport(plan),
    keyEpoch: plan.spec.keyEpoch,
    access: accessSummary(plan.spec.access),
    resilience: resilienceSummary(resilience),
  };
}
