/** A backend: a leaf of the mesh. It may sit behind NAT (an external node without endpoint), in which case it dials out and PersistentKeepalive holds its NAT mapping open. */
import * as pulumi from "@pulumi/pulumi";
import { NODE_TYPES } from "./type-tokens";
import type { Cloud } from "../infra/model";
import { buildMeshNode, type MeshNodeArgs } from "./node";

/** A backend's placement, address and peers. */
export interface BackendArgs extends MeshNodeArgs {}

/** A backend: a leaf of the mesh. It may sit behind NAT (an external node without endpoint), in which case it dials out and PersistentKeepalive holds its NAT mapping open. */
export class Backend extends pulumi.ComponentResource {
  /** The node's name in the mesh. */
  declare readonly nodeName: string;
  /** Where it runs: aws, gcp, azure or external. */
  declare readonly cloud: Cloud;
  /** Its overlay address, without prefix. */
  declare readonly overlayAddress: pulumi.Output<string>;
  /** Its WireGuard public key. */
  declare readonly publicKey: pulumi.Output<string>;
  /** Its public IPv4; absent for an external node behind NAT or known by name. */
  declare readonly publicIp: pulumi.Output<string | undefined>;
  /** host:port its peers dial; absent behind NAT. */
  declare readonly endpoint: pulumi.Output<string | undefined>;
  /** The vault secret holding its wg0.conf; absent for an external node. */
  declare readonly vaultSecretRef: pulumi.Output<string | undefined>;
  /** How to log in. */
  declare readonly sshHint: pulumi.Output<string>;
  /** Sources admitted to its WireGuard port. */
  declare readonly wireguardFrom: pulumi.Output<string[]>;
  /** An external node's wg0.conf, to install by hand (secret); absent for cloud nodes, whose file is in their vault. */
  declare readonly externalConfig: pulumi.Output<string | undefined>;
  /** Its VM as the cloud's console names it: EC2 instance id, GCP instance name or Azure VM id; absent for an external node. */
  declare readonly instanceId: pulumi.Output<string | undefined>;
  /** A command that shows whether its VM ran its bootstrap, without the node's network or its agent; absent for an external node. */
  declare readonly bootstrapCheck: pulumi.Output<string | undefined>;

  constructor(name: string, args: BackendArgs, opts?: pulumi.ComponentResourceOptions) {
    super(NODE_TYPES.backend, name, {}, opts);
    const fields = buildMeshNode(this, "backend", name, args, opts);
    Object.assign(this, fields);
    const { nodeName: _name, cloud: _cloud, ...outputs } = fields;
    this.registerOutputs(outputs);
  }
}
