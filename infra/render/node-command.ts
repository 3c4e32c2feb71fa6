/**
 * The node's own `wgmesh` command (/usr/local/sbin/wgmesh, a link into the current node agent), whose
 * one job is `sudo wgmesh doctor`. It is the bash file beside this module, shipped as it is: it takes
 * every value it needs from the agent's wgmesh-sync beside it (which reads the bootstrap for the
 * node's), and the lab runs the very same file in a node's namespace.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { shipScript } from "./shipped";

export const NODE_COMMAND_PATH = "/usr/local/sbin/wgmesh";
/** Its name in the agent. */
export const NODE_COMMAND_NAME = "wgmesh";
export const DOCTOR_TEMPLATE_PATH = join(__dirname, "wgmesh-doctor.sh");
const DOCTOR = readFileSync(DOCTOR_TEMPLATE_PATH, "utf8");

export function renderNodeCommand(): string {
  return DOCTOR;
}

/** The node command as the agent carries it and the lab runs it. */
export function shippedNodeCommand(): string {
  return shipScript(DOCTOR, "node command, from infra/render/wgmesh-doctor.sh");
}
