/**
 * wg-mesh's Pulumi program (Pulumi.yaml: main): the stack's `wg-mesh:mesh` declaration as one Mesh
 * component, and what operators and peer stacks read.
 */
import * as pulumi from "@pulumi/pulumi";
import { Mesh, type MeshArgs } from "../components";
import { CONFIG_KEY, parseMeshConfig } from "../infra/config";
import { asRunError } from "../components/prove";
import { noTracesForThisRun } from "../components/shallow-traces";

noTracesForThisRun();

const declaration = new pulumi.Config("wg-mesh").requireObject<MeshArgs>("mesh");
try {
  // Checked here too so that a bad stack file is reported by its config key, not as a component's args.
  parseMeshConfig(declaration);
} catch (err) {
  throw asRunError(err, CONFIG_KEY);
}
const deployed = new Mesh("mesh", declaration);

/** Per node: role, cloud, public IP, overlay address, public key, endpoint, vault secret, SSH hint, WireGuard sources. */
export const nodes = deployed.nodes;
/** Links, MTU and how many ordered pairs the simulator carried. */
export const summary = deployed.summary;
/** Public data for other stacks' peerStacks. */
export const mesh = deployed.meshExport;
/** Secret: the wg0.conf of every external node, to install by hand. */
export const externalConfigs = deployed.externalConfigs;
/** The key epoch and the moment every node switches to its keys. */
export const keyRotation = deployed.keyRotation;
