/**
 * A backend: a leaf of the mesh. It may sit behind NAT (an external node without endpoint), in
 * which case it dials out and PersistentKeepalive holds its NAT mapping open.
 */
import type * as pulumi from "@pulumi/pulumi";
import { MeshNode, type MeshNodeArgs } from "./node";

export type BackendArgs = MeshNodeArgs;

export class Backend extends MeshNode {
  constructor(name: string, args: BackendArgs, opts?: pulumi.ComponentResourceOptions) {
    super("wg-mesh:index:Backend", { role: "backend", needsPublicEndpoint: false }, name, args, opts);
  }
}
