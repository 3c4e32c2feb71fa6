/**
 * The node's own `wgmesh` command (/usr/local/sbin/wgmesh), whose one job is `sudo wgmesh doctor`.
 * It is the bash file beside this module, shipped as it is: it takes every value it needs (the
 * interface, the vault) from the sync script it reads, so it depends on nothing but that script's
 * place, and the lab runs the very same file in a node's namespace.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { shipScript } from "./shipped";
import { renderSyncScript, type DeliveryOptions } from "./sync-script";

export const NODE_COMMAND_PATH = "/usr/local/sbin/wgmesh";
export const DOCTOR_TEMPLATE_PATH = join(__dirname, "wgmesh-doctor.sh");
const DOCTOR = readFileSync(DOCTOR_TEMPLATE_PATH, "utf8");

export function renderNodeCommand(): string {
  return DOCTOR;
}

/** The node command as cloud-init writes it and the lab runs it. */
export function shippedNodeCommand(): string {
  return shipScript(DOCTOR, "node command, from infra/render/wgmesh-doctor.sh");
}

/** The sync script as cloud-init writes it and the lab runs it. */
export function shippedSyncScript(opts: DeliveryOptions): string {
  return shipScript(renderSyncScript(opts), "sync unit, from infra/render/wgmesh-sync.sh");
}
