/**
 * The contract between a role component (Hub, Pop, Backend) and the per-cloud host
 * that builds its VM, static IP, firewall, vault secret and identity.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AwsPlacement, AzurePlacement, GcpPlacement, Role } from "../../infra/model";
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
  /** The node's complete wg0.conf. Secret: it holds the private key. Written only to the vault. */
  config: pulumi.Input<string>;
  /**
   * Sources admitted to the WireGuard UDP port: ["0.0.0.0/0"] when a peer has no static
   * public IP (it dials from wherever its NAT puts it), otherwise each peer's public IP as /32.
   */
  wireguardSources: pulumi.Input<string[]>;
  /** cloud-init for the VM, given where its vault secret is; it carries no secret. */
  userData: (vault: VaultLocator) => string;
  tags: Record<string, string>;
}

export interface AwsHostArgs extends HostArgs {
  placement: AwsPlacement;
}
export interface GcpHostArgs extends HostArgs {
  placement: GcpPlacement;
}
export interface AzureHostArgs extends HostArgs {
  placement: AzurePlacement;
}

/** What every host exposes to its role component. */
export interface HostOutputs {
  publicIp: pulumi.Output<string>;
  /** ARN, Secret Manager resource name or Key Vault secret id. */
  vaultSecretRef: pulumi.Output<string>;
  /** Login user for the SSH hint. */
  sshUser: string;
}
