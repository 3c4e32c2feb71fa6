/**
 * The failover watchdog a resilient node runs (wgmesh-watchdog.sh beside this module), and its
 * systemd unit. The script names no peer and holds no key: it reads wg0.conf and failover.conf from
 * /etc/wireguard, which wgmesh-sync keeps in step with the vault, so it never changes with the mesh.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { shipScript } from "./shipped";

export const WATCHDOG_PATH = "/usr/local/sbin/wgmesh-watchdog";
export const WATCHDOG_TEMPLATE_PATH = join(__dirname, "wgmesh-watchdog.sh");
const WATCHDOG = readFileSync(WATCHDOG_TEMPLATE_PATH, "utf8");

/** The watchdog as a node (and the lab) runs it. */
export function shippedWatchdog(): string {
  return shipScript(WATCHDOG, "failover watchdog, from infra/render/wgmesh-watchdog.sh");
}

/**
 * Runs while the node has a failover table; restarted at once if it dies. Started after the first
 * sync has put wg0.conf and failover.conf in place.
 */
export function watchdogUnit(iface = "wg0"): string {
  return [
    "[Unit]",
    `Description=wg-mesh failover watchdog for ${iface}`,
    "After=network-online.target wgmesh-sync.service",
    "Wants=network-online.target",
    "ConditionPathExists=/etc/wireguard/failover.conf",
    "",
    "[Service]",
    `Environment=WGMESH_IFACE=${iface}`,
    `ExecStart=${WATCHDOG_PATH}`,
    "Restart=always",
    "RestartSec=1",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}
