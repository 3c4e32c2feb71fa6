/** The hub: every node links to it, it forwards between them, and everyone dials its fixed endpoint. */
import type * as pulumi from "@pulumi/pulumi";
import { MeshNode, type MeshNodeArgs } from "./node";

export type HubArgs = MeshNodeArgs;

export class Hub extends MeshNode {
  constructor(name: string, args: HubArgs, opts?: pulumi.ComponentResourceOptions) {
    super("wg-mesh:index:Hub", { role: "hub", needsPublicEndpoint: true }, name, args, opts);
  }
}
