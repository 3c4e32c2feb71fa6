/**
 * wg-mesh's Pulumi program (Pulumi.yaml: main). Reads `wg-mesh:mesh`, proves the plan in the
 * simulator, deploys one component per node, and exports what operators and peer stacks need.
 */
import { readStackInput } from "./config";
import { deployMesh } from "./program";

const deployed = deployMesh(readStackInput());

/** Per node: role, cloud, public IP, overlay address, public key, endpoint, vault secret, SSH hint. */
export const nodes = deployed.nodes;
/** Links, MTU and how many ordered pairs the simulator carried. */
export const summary = deployed.summary;
/** Public data for other stacks' peerStacks. */
export const mesh = deployed.mesh;
/** Secret: the wg0.conf of every external node, to install by hand. */
export const externalConfigs = deployed.externalConfigs;
