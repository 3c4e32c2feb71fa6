/**
 * What Hub, Pop and Backend share: the node's key, its host on the node's cloud, and the
 * outputs operators and other stacks read. A node is built from its declaration alone; the
 * two things that depend on the rest of the mesh (its wg0.conf and who may reach its
 * WireGuard port) arrive as inputs that may resolve later, once every node's key and IP exist.
 */
import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { NodeSpec, Role } from "../infra/model";
import { MeshRunError } from "./errors";
import { renderCloudInit } from "../infra/render/cloudinit";
import { vaultLocatorFor, type VaultLocator } from "../infra/vault";
import { AwsHost } from "./hosts/aws";
import { AzureHost } from "./hosts/azure";
import { externalHost } from "./hosts/external";
import { GcpHost } from "./hosts/gcp";
import type { AwsVault, AzureVault, GcpVault, HostArgs } from "./hosts/types";
import { nodeKey } from "./keys";

export interface MeshNodeArgs {
  /** The node as declared (role, addresses, placement). */
  node: NodeSpec;
  project: string;
  stack: string;
  listenPort: number;
  keyEpoch: number;
  /** CIDRs allowed to SSH in; empty closes port 22. */
  adminCidrs: string[];
  /** The node's wg0.conf, secret: it carries the private key. Rendered from every node's key and IP. */
  config: pulumi.Input<string>;
  /** Who may reach the WireGuard port: each peer's IP as /32, or 0.0.0.0/0 when a peer is behind NAT. */
  wireguardSources: pulumi.Input<string[]>;
  /** The stack's provider for the node's AWS region; required for aws nodes. */
  awsProvider?: aws.Provider;
  /** Range for the VNet made for an azure node without a subnetId. */
  azureUnderlayCidr: string;
}

interface RoleRules {
  role: Role;
  /** Others dial it, so it needs a fixed public endpoint even outside the clouds. */
  needsPublicEndpoint: boolean;
}

export abstract class MeshNode extends pulumi.ComponentResource {
  readonly nodeName: string;
  readonly role: Role;
  readonly cloud: NodeSpec["cloud"];
  /** The node's overlay address, without prefix. */
  readonly overlayAddress: string;
  readonly publicKey: pulumi.Output<string>;
  /** Secret; for rendering this node's config, never exported. */
  readonly privateKey: pulumi.Output<string>;
  /** The node's public IPv4; undefined for an external node behind NAT or known by name. */
  readonly publicIp: pulumi.Output<string | undefined>;
  /** Host peers dial (public IP or declared name); undefined behind NAT. */
  readonly endpointHost: pulumi.Output<string | undefined>;
  /** "host:port" peers dial; undefined behind NAT. */
  readonly endpoint: pulumi.Output<string | undefined>;
  /** The vault secret holding wg0.conf; undefined for external nodes. */
  readonly vaultSecretRef: pulumi.Output<string | undefined>;
  readonly sshHint: pulumi.Output<string>;
  /** The user data the VM boots with; undefined for external nodes. */
  readonly userData: string | undefined;

  protected constructor(type: string, rules: RoleRules, name: string, args: MeshNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    super(type, name, {}, opts);
    const { node } = args;
    if (node.role !== rules.role) throw new MeshRunError(`nodes.${node.name}.role: ${node.role} node built as a ${rules.role}`);
    if (rules.needsPublicEndpoint && node.cloud === "external" && !node.external?.endpoint) {
      throw new MeshRunError(`nodes.${node.name}.external.endpoint: a ${rules.role} is dialled by others, so it needs a public endpoint`);
    }
    this.nodeName = node.name;
    this.role = node.role;
    this.cloud = node.cloud;
    this.overlayAddress = node.address;

    const key = nodeKey(`${name}-key`, args.keyEpoch, { parent: this });
    this.privateKey = key.privateKey;
    this.publicKey = key.publicKey;

    // Only cloud nodes have a vault; external ones are configured by hand.
    const vault = vaultLocatorFor(node, args.project, args.stack);
    if (vault) {
      this.userData = renderCloudInit({ node: node.name, vault });
      const host = this.cloudHost(name, args, vault, this.userData);
      this.publicIp = host.publicIp;
      this.endpointHost = host.publicIp;
      this.vaultSecretRef = host.vaultSecretRef;
      this.sshHint = host.sshHint;
    } else {
      this.userData = undefined;
      const external = externalHost(node.name, node.external);
      this.publicIp = external.publicIp;
      this.endpointHost = pulumi.output(external.endpointHost);
      this.vaultSecretRef = pulumi.output(undefined);
      this.sshHint = external.sshHint;
    }
    this.endpoint = this.endpointHost.apply((h) => (h === undefined ? undefined : `${h}:${args.listenPort}`));
    this.registerOutputs({
      overlayAddress: this.overlayAddress,
      publicKey: this.publicKey,
      publicIp: this.publicIp,
      endpoint: this.endpoint,
      vaultSecretRef: this.vaultSecretRef,
    });
  }

  private cloudHost(name: string, args: MeshNodeArgs, vault: VaultLocator, userData: string): AwsHost | GcpHost | AzureHost {
    const { node } = args;
    const common: HostArgs = {
      nodeName: node.name,
      role: node.role,
      project: args.project,
      stack: args.stack,
      listenPort: args.listenPort,
      adminCidrs: args.adminCidrs,
      config: args.config,
      wireguardSources: args.wireguardSources,
      userData,
      tags: { "wg-mesh-project": args.project, "wg-mesh-stack": args.stack, "wg-mesh-node": node.name, "wg-mesh-role": node.role },
    };
    const opts = { parent: this };
    switch (node.cloud) {
      case "aws":
        if (!node.aws || !args.awsProvider) throw new Error(`aws node ${node.name} needs its placement and provider`);
        return new AwsHost(name, { ...common, placement: node.aws, vault: vault as AwsVault, provider: args.awsProvider }, opts);
      case "gcp":
        if (!node.gcp) throw new Error(`gcp node ${node.name} needs its placement`);
        return new GcpHost(name, { ...common, placement: node.gcp, vault: vault as GcpVault }, opts);
      case "azure":
        if (!node.azure) throw new Error(`azure node ${node.name} needs its placement`);
        return new AzureHost(name, { ...common, placement: node.azure, vault: vault as AzureVault, underlayCidr: args.azureUnderlayCidr }, opts);
      case "external":
        throw new Error(`external node ${node.name} has no cloud host`);
    }
  }
}
