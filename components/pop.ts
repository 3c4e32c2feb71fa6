/** An edge POP: backends of its area link to it directly, so it forwards and needs a fixed endpoint. */
import type * as pulumi from "@pulumi/pulumi";
import { MeshNode, type MeshNodeArgs } from "./node";

export type PopArgs = MeshNodeArgs;

export class Pop extends MeshNode {
  constructor(name: string, args: PopArgs, opts?: pulumi.ComponentResourceOptions) {
    super("wg-mesh:index:Pop", { role: "pop", needsPublicEndpoint: true }, name, args, opts);
  }
}
