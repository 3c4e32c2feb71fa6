/**
 * What a change of a node's declaration does to the cloud resources the components make for it
 * (components/hosts/*.ts), by the providers' documented update behaviour of each input wg-mesh
 * sets. Only what the declaration decides is judged here; the node's wg0.conf is judged by the
 * sync unit's rules (sync.ts).
 *
 * Sources (provider docs as shipped in the installed SDKs, and the Terraform providers they wrap):
 * - aws.ec2.Instance: `ami`, `subnetId` force a new instance; `instanceType` and, with
 *   userDataReplaceOnChange false, `userData` stop and start it. Every resource of a node uses
 *   the provider of its AWS region, and a resource whose provider changes is replaced.
 *   aws.ec2.SecurityGroup: `vpcId` forces a new group.
 * - gcp.compute.Instance: `zone`, `project` and the boot disk's `image` force a new instance;
 *   `machineType`, and the network interface's `network`/`subnetwork`, update with a stop
 *   (allowStoppingForUpdate). gcp.compute.Address: `region` forces a new address (a new IP).
 * - azure: a resource group's `location` forces a new group, and so everything in it;
 *   LinuxVirtualMachine `sourceImageReference` and `customData` force a new VM, `size` resizes
 *   it (a restart).
 * - A node's components are named after the node, so a rename makes every resource anew, its key
 *   too. They are typed by role (wg-mesh:index:Hub, Pop, Backend) and aliased across the three, so
 *   a new role keeps everything; only the default size (one up for hubs and POPs) may change.
 */
import { awsInstanceType, azureVmSize, gcpMachineType } from "../host-defaults";
import type { NodeSpec } from "../model";

export type HostEffect =
  /** Nothing on the node's cloud resources changes. */
  | "none"
  /** The VM is stopped and started (resize, network move): its tunnels drop while it is down. */
  | "restart-vm"
  /** A new VM (or none, for a move out of the clouds); the old one is deleted. */
  | "replace";

export interface HostChange {
  effect: HostEffect;
  /** Why, in the provider's terms, one line each. */
  reasons: string[];
  /** The node's public IP changes, so every peer gets a new Endpoint for it. */
  newPublicIp: boolean;
}

const NONE: HostChange = { effect: "none", reasons: [], newPublicIp: false };

function changed<T>(a: T | undefined, b: T | undefined): boolean {
  return (a ?? undefined) !== (b ?? undefined);
}

function shown(v: string | undefined, unset: string): string {
  return v === undefined ? unset : v;
}

function arrow(field: string, a: string | undefined, b: string | undefined, unset = "(default)"): string {
  return `${field} ${shown(a, unset)} -> ${shown(b, unset)}`;
}

function aws(a: NonNullable<NodeSpec["aws"]>, b: NonNullable<NodeSpec["aws"]>): HostChange {
  if (a.region !== b.region) {
    return {
      effect: "replace",
      reasons: [`${arrow("aws.region", a.region, b.region)}: every resource of the node moves to the ${b.region} provider and is replaced (Elastic IP, security group, secret, instance)`],
      newPublicIp: true,
    };
  }
  const replace: string[] = [];
  const restart: string[] = [];
  if (changed(a.ami, b.ami) && b.ami !== undefined) replace.push(`${arrow("aws.ami", a.ami, b.ami, "(latest Ubuntu)")}: a new AMI forces a new instance${a.ami === undefined ? " (unless it is the AMI the node runs)" : ""}`);
  if (changed(a.subnetId, b.subnetId)) replace.push(`${arrow("aws.subnetId", a.subnetId, b.subnetId)}: a new subnet forces a new instance`);
  if (changed(a.vpcId, b.vpcId)) replace.push(`${arrow("aws.vpcId", a.vpcId, b.vpcId)}: a new VPC forces a new security group and instance`);
  if (changed(a.instanceType, b.instanceType)) restart.push(`${arrow("aws.instanceType", a.instanceType, b.instanceType)}: EC2 stops the instance, changes its type and starts it; disk and Elastic IP stay`);
  if (replace.length > 0) return { effect: "replace", reasons: [...replace, ...restart], newPublicIp: false };
  if (restart.length > 0) return { effect: "restart-vm", reasons: restart, newPublicIp: false };
  return NONE;
}

function gcp(a: NonNullable<NodeSpec["gcp"]>, b: NonNullable<NodeSpec["gcp"]>): HostChange {
  if (a.project !== b.project) {
    return {
      effect: "replace",
      reasons: [`${arrow("gcp.project", a.project, b.project)}: every resource of the node is made anew in the other project (service account, address, firewall rules, secret, instance)`],
      newPublicIp: true,
    };
  }
  const replace: string[] = [];
  const restart: string[] = [];
  const newIp = a.region !== b.region;
  if (a.zone !== b.zone) replace.push(`${arrow("gcp.zone", a.zone, b.zone)}: a new zone forces a new instance${newIp ? `, and the new region (${b.region}) a new static address` : ""}`);
  if (changed(a.image, b.image)) replace.push(`${arrow("gcp.image", a.image, b.image)}: a new boot image forces a new instance`);
  if (changed(a.machineType, b.machineType)) restart.push(`${arrow("gcp.machineType", a.machineType, b.machineType)}: Compute Engine stops the instance to change its machine type, then starts it`);
  if (changed(a.network, b.network) || changed(a.subnetwork, b.subnetwork)) {
    restart.push(`${arrow("gcp.network/subnetwork", [a.network, a.subnetwork].filter(Boolean).join("/") || undefined, [b.network, b.subnetwork].filter(Boolean).join("/") || undefined)}: the network interface moves with a stop, and the firewall rules are made anew on the new network`);
  }
  if (replace.length > 0) return { effect: "replace", reasons: [...replace, ...restart], newPublicIp: newIp };
  if (restart.length > 0) return { effect: "restart-vm", reasons: restart, newPublicIp: false };
  return NONE;
}

function azure(a: NonNullable<NodeSpec["azure"]>, b: NonNullable<NodeSpec["azure"]>): HostChange {
  if (a.location !== b.location) {
    return {
      effect: "replace",
      reasons: [`${arrow("azure.location", a.location, b.location)}: a resource group's location cannot change, so the group and everything in it are replaced (public IP, NSG, VM, Key Vault)`],
      newPublicIp: true,
    };
  }
  const replace: string[] = [];
  const restart: string[] = [];
  if (changed(a.image, b.image)) replace.push(`${arrow("azure.image", a.image, b.image)}: a new source image forces a new VM`);
  if (changed(a.vmSize, b.vmSize)) restart.push(`${arrow("azure.vmSize", a.vmSize, b.vmSize)}: Azure resizes the VM, which restarts it`);
  if (changed(a.subnetId, b.subnetId)) restart.push(`${arrow("azure.subnetId", a.subnetId, b.subnetId, "(its own VNet)")}: the network interface moves to the other subnet`);
  if (replace.length > 0) return { effect: "replace", reasons: [...replace, ...restart], newPublicIp: false };
  if (restart.length > 0) return { effect: "restart-vm", reasons: restart, newPublicIp: false };
  return NONE;
}

function external(a: NonNullable<NodeSpec["external"]> | undefined, b: NonNullable<NodeSpec["external"]> | undefined): HostChange {
  if (changed(a?.endpoint, b?.endpoint)) {
    return { effect: "none", reasons: [`${arrow("external.endpoint", a?.endpoint, b?.endpoint, "(behind NAT)")}: its peers get the new Endpoint`], newPublicIp: true };
  }
  return NONE;
}

/** `base` and `head` are the same node (same name) on both sides. */
export function hostChange(base: NodeSpec, head: NodeSpec): HostChange {
  if (base.cloud !== head.cloud) {
    const to = head.cloud === "external" ? "a machine wg-mesh does not run: its VM and vault are deleted, and its wg0.conf must be installed there by hand" : `a new VM on ${head.cloud}`;
    const from = base.cloud === "external" ? "" : `; the ${base.cloud} VM and everything with it are deleted`;
    return { effect: "replace", reasons: [`cloud ${base.cloud} -> ${head.cloud}: ${to}${from}`], newPublicIp: true };
  }
  // A new role changes only the default size; what the node declares itself stays as it is.
  switch (head.cloud) {
    case "aws": {
      const [a, b] = [base.aws, head.aws] as NonNullable<NodeSpec["aws"]>[];
      return aws({ ...a, instanceType: awsInstanceType(base.role, a.instanceType) }, { ...b, instanceType: awsInstanceType(head.role, b.instanceType) });
    }
    case "gcp": {
      const [a, b] = [base.gcp, head.gcp] as NonNullable<NodeSpec["gcp"]>[];
      return gcp({ ...a, machineType: gcpMachineType(base.role, a.machineType) }, { ...b, machineType: gcpMachineType(head.role, b.machineType) });
    }
    case "azure": {
      const [a, b] = [base.azure, head.azure] as NonNullable<NodeSpec["azure"]>[];
      return azure({ ...a, vmSize: azureVmSize(base.role, a.vmSize) }, { ...b, vmSize: azureVmSize(head.role, b.vmSize) });
    }
    case "external":
      return external(base.external, head.external);
  }
}
