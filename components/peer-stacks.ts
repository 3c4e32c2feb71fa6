/**
 * Other stacks' `mesh` outputs. A StackReference to a stack that does not exist fails the
 * whole update and cannot be caught, which is why mutual references take two updates (see
 * the README). A stack that exists but has no `mesh` output yet is skipped with a warning.
 */
import * as pulumi from "@pulumi/pulumi";
import { peerPath, type PeerMesh } from "../infra/imports";

/** `prefix` names the references after the mesh that reads them; `opts` parents them there. */
export function readPeerMeshes(peerStacks: readonly string[], prefix: string, opts: pulumi.CustomResourceOptions): pulumi.Output<PeerMesh[]> {
  const outputs = peerStacks.map((stack) => new pulumi.StackReference(`${prefix}-${stack}`, { name: stack }, opts).getOutput("mesh"));
  return pulumi.all(outputs).apply((values) =>
    values.flatMap((mesh: unknown, index) => {
      const stack = peerStacks[index] as string;
      if (mesh === undefined || mesh === null) {
        void pulumi.log.warn(`${peerPath({ index, stack })}: has no mesh output yet, so its nodes are left out of this update; run pulumi up in ${stack}, then here again`);
        return [];
      }
      return [{ index, stack, mesh }];
    }),
  );
}
