/** One component per mesh node, by role; each builds its host on the node's cloud. */
import type * as pulumi from "@pulumi/pulumi";
import { Backend } from "./backend";
import { Hub } from "./hub";
import type { MeshNode, MeshNodeArgs } from "./node";
import { Pop } from "./pop";

export { Backend } from "./backend";
export { Hub } from "./hub";
export { MeshNode, type MeshNodeArgs } from "./node";
export { Pop } from "./pop";
export { PresharedKeys, nodeKey, type NodeKey } from "./keys";

export function createMeshNode(args: MeshNodeArgs, opts?: pulumi.ComponentResourceOptions): MeshNode {
  const name = args.node.name;
  switch (args.node.role) {
    case "hub":
      return new Hub(name, args, opts);
    case "pop":
      return new Pop(name, args, opts);
    case "backend":
      return new Backend(name, args, opts);
  }
}
