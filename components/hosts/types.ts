/**
 * The contract between a role component (Hub, Pop, Backend) and the per-cloud host
 * that builds its VM, static IP, firewall, vault secret and identity.
 */
import type * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { AwsPlacement, AzurePlacement, ResolvedGcpPlacement, Role } from "../../infra/model";
import type { VaultLocator } from "../../infra/vault";

export interface HostArgs {
  /** Node name from the mesh config; used in resource names. */
  nodeName: string;
  role: Role;
  /** Project and stack, used in vault names and tags. */
  project: string;
  stack: string;
  listenPort: number;
  /** CIDRs allowed to SSH in; empty means no SSH rule at all. */
  adminCidrs: string[];
  /** The node's vault entry: its wg0.conf and the files riding with it (infra/render/payload.ts). Secret: it holds the private key. Written only to the vault. */
  config: pulumi.Input<string>;
  /**
   * The node agent as its vault secrets hold it (infra/render/agent.ts), in parts (infra/render/agent-parts.ts):
   * one secret per part, named by agentPartName, written to the node's vault beside the config, before it.
   */
  agent: pulumi.Input<string>[];
  /**
   * Sources admitted to the WireGuard UDP port: ["0.0.0.0/0"] when a peer has no static
   * public IP (it dials from wherever its NAT puts it), otherwise each peer's public IP as /32;
   * empty when the node has no peer.
   */
  wireguardSources: pulumi.Input<string[]>;
  /**
   * cloud-init for the VM: the bootstrap. It names the vault and carries no secret, and it must not
   * change when the mesh or the agent does: a host passes it only to inputs whose changes a running
   * VM ignores (ignoreChanges), so only a new VM takes a new one.
   */
  userData: string;
  tags: Record<string, string>;
}

export type AwsVault = Extract<VaultLocator, { kind: "aws-secretsmanager" }>;
export type GcpVault = Extract<VaultLocator, { kind: "gcp-secretmanager" }>;
export type AzureVault = Extract<VaultLocator, { kind: "azure-keyvault" }>;

export interface AwsHostArgs extends HostArgs {
  placement: AwsPlacement;
  vault: AwsVault;
  /** The stack's provider for placement.region, shared by every node there. */
  provider: aws.Provider;
}
export interface GcpHostArgs extends HostArgs {
  placement: ResolvedGcpPlacement;
  vault: GcpVault;
  /** Enable the project's APIs here; false when the caller did and passes them as dependsOn. */
  enableApis: boolean;
}
export interface AzureHostArgs extends HostArgs {
  placement: AzurePlacement;
  vault: AzureVault;
  /** A private range for the VNet made when placement.subnetId is absent; clear of the overlay. */
  underlayCidr: string;
}

/** What every host exposes to its role component. */
export interface HostOutputs {
  publicIp: pulumi.Output<string>;
  /** ARN, Secret Manager resource id or Key Vault secret id of the config. */
  vaultSecretRef: pulumi.Output<string>;
  /** A command that logs in, using the cloud's own way of handing over a key. */
  sshHint: pulumi.Output<string>;
  /** What the cloud's console calls the VM: an EC2 instance id, a GCP instance name, an Azure VM id. */
  instanceId: pulumi.Output<string>;
  /**
   * A command that shows, without the node's network or its agent, whether it ran its bootstrap:
   * the boot console's cloud-init and wgmesh-sync lines (AWS, GCP), or cloud-init's status and the
   * agent installed (Azure, through the VM agent). docs/node-agent.md says how to read it.
   */
  bootstrapCheck: pulumi.Output<string>;
}
