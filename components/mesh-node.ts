/**
 * A node of the mesh as a component: one class, MeshNode, and the roles as data. Hub, Pop and
 * Backend are MeshNode under the names the package has always had: each registers its role's type
 * token (wg-mesh:index:Hub, ...), so URNs stay what they were, and a node that changes role keeps
 * its resources through aliases to the other roles' tokens (components/mesh.ts).
 *
 * The component package's schema has one entry per role (Hub, Pop, Backend, with the role's
 * description from roles.ts): Pulumi's analyzer reads MeshNode once and package-schema.ts names it
 * for each role.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Cloud, Role } from "../infra/model";
import { buildMeshNode, type MeshNodeArgs } from "./node";
import { NODE_TYPES } from "./type-tokens";

/** A node of a WireGuard mesh in one role: its key, its wg0.conf in its cloud's vault, its host. Made as a Hub, Pop or Backend. */
export class MeshNode extends pulumi.ComponentResource {
  /** The role each name of MeshNode plays (set by Hub, Pop and Backend). */
  static readonly role: Role = "backend";

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

  constructor(name: string, args: MeshNodeArgs, opts?: pulumi.ComponentResourceOptions) {
    const role = (new.target as typeof MeshNode).role;
    super(NODE_TYPES[role], name, {}, opts);
    const fields = buildMeshNode(this, role, name, args, opts);
    Object.assign(this, fields);
    const { nodeName: _name, cloud: _cloud, ...outputs } = fields;
    this.registerOutputs(outputs);
  }
}

/** A hub's placement, address and peers. */
export type HubArgs = MeshNodeArgs;
/** A pop's placement, address and peers. */
export type PopArgs = MeshNodeArgs;
/** A backend's placement, address and peers. */
export type BackendArgs = MeshNodeArgs;

/** A MeshNode in the hub role (ROLE_DESCRIPTIONS.hub). */
export class Hub extends MeshNode {
  static override readonly role: Role = "hub";
}

/** A MeshNode in the pop role (ROLE_DESCRIPTIONS.pop). */
export class Pop extends MeshNode {
  static override readonly role: Role = "pop";
}

/** A MeshNode in the backend role (ROLE_DESCRIPTIONS.backend). */
export class Backend extends MeshNode {
  static override readonly role: Role = "backend";
}

/** The component of each role, for code that makes nodes from data (the Mesh, the plugin). */
export const ROLE_CLASSES: Readonly<Record<Role, typeof MeshNode>> = { hub: Hub, pop: Pop, backend: Backend };
