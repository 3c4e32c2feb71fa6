/**
 * What a deployed mesh tells its operators (the Mesh component's `nodes` and `summary` outputs):
 * plain data, built from the plan and the simulation, nothing secret.
 */
import type { ImportedMesh } from "./imports";
import type { Cloud, MeshPlan, Role } from "./model";
import { summaryLine } from "./simulate/lint";
import type { SimulationReport } from "./simulate/types";

/** One node, as an operator looks it up. */
export interface NodeReport {
  /** hub, pop or backend. */
  role: Role;
  /** aws, gcp, azure or external. */
  cloud: Cloud;
  /** Its public IPv4; absent for an external node behind NAT or known by name. */
  publicIp?: string;
  /** Its overlay address, without prefix. */
  overlayAddress: string;
  /** Its WireGuard public key. */
  publicKey: string;
  /** host:port its peers dial; absent behind NAT. */
  endpoint?: string;
  /** The vault secret holding its wg0.conf (ARN, Secret Manager name or Key Vault secret id); absent for external nodes. */
  vaultSecretRef?: string;
  /** How to log in. */
  ssh: string;
  /** Sources admitted to its WireGuard port. */
  wireguardFrom: string[];
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
}

export function summarize(plan: MeshPlan, report: SimulationReport, imported: readonly ImportedMesh[]): MeshSummary {
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
  };
}
