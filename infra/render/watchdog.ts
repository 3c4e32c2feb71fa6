/**
 * The node agent's failover and access parts (docs/node-agent.md, "Apply hooks and units"): the
 * failover watchdog and its unit, the apply hook of the failover table, and the access ruleset's
 * hook (wgmesh-firewall) with the timer that writes its metrics. None names a peer, a key or an
 * interface: each reads what rides with wg0.conf in wg0.d/ and the bootstrap's values, so one agent
 * fits every node and never changes with the mesh.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ACCESS_RULESET_FILE } from "../access/files";
import { FAILOVER_FILE } from "../failover/format";
import type { SetFile } from "./fileset";
import { shipScript } from "./shipped";

export const WATCHDOG_TEMPLATE_PATH = join(__dirname, "wgmesh-watchdog.sh");
export const FIREWALL_TEMPLATE_PATH = join(__dirname, "wgmesh-firewall.sh");
/** Where a node keeps its agents (the bootstrap's LIB), for units, which need absolute paths. */
const AGENTS_ON_NODE = "/usr/local/lib/wgmesh/agents";

/** The watchdog as a node (and the lab) runs it. */
export function shippedWatchdog(): string {
  return shipScript(readFileSync(WATCHDOG_TEMPLATE_PATH, "utf8"), "failover watchdog, from infra/render/wgmesh-watchdog.sh");
}

/** wgmesh-firewall as a node (and the lab) runs it: the access ruleset's apply hook. */
export function shippedFirewall(): string {
  return shipScript(readFileSync(FIREWALL_TEMPLATE_PATH, "utf8"), "access firewall, from infra/render/wgmesh-firewall.sh");
}

/**
 * Runs while the node has a failover table, restarted at once if it dies. Its ExecStart names the
 * agent's version, so a new agent's unit differs and the agent restarts the watchdog on the new code
 * (the watchdog takes an active failover up again from its state).
 */
export function watchdogUnit(version: string): string {
  return [
    "[Unit]",
    "Description=wg-mesh failover watchdog",
    "After=network-online.target wgmesh-sync.service",
    "Wants=network-online.target",
    `ConditionPathExistsGlob=/etc/wireguard/*.d/${FAILOVER_FILE}`,
    // A watchdog that keeps dying is restarted for ever, not given up on after five tries.
    "StartLimitIntervalSec=0",
    "",
    "[Service]",
    `ExecStart=${AGENTS_ON_NODE}/${version}/wgmesh-watchdog`,
    "Restart=always",
    "RestartSec=1",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/**
 * failover.conf's apply hook. The watchdog rereads the table whenever it changes, so the hook only
 * starts the watchdog when a table arrives and stops it when the table goes (the mesh is no longer
 * resilient): systemctl on a node, never in the lab, which runs the watchdog itself.
 */
export function failoverHook(): string {
  return [
    "#!/bin/bash",
    "# wg-mesh: failover.conf's apply hook: the watchdog rereads the table itself; this starts and stops it.",
    "set -euo pipefail",
    '[[ -z ${WGMESH_UNIT_DIR:-} && -d /run/systemd/system ]] || exit 0',
    'case ${1:-} in',
    // --no-block: the unit is ordered after wgmesh-sync.service, whose run is running this hook.
    "  apply) systemctl --no-block start wgmesh-watchdog.service ;;",
    "  remove) systemctl stop wgmesh-watchdog.service ;;",
    '  *) echo "usage: $0 apply FILE | remove" >&2; exit 2 ;;',
    "esac",
    "",
  ].join("\n");
}

/** The access counters into the node_exporter textfile every minute, while the node has a ruleset. */
export function accessMetricsUnits(version: string): { service: string; timer: string } {
  return {
    service: [
      "[Unit]",
      "Description=wg-mesh access policy metrics",
      `ConditionPathExistsGlob=/etc/wireguard/*.d/${ACCESS_RULESET_FILE}`,
      "",
      "[Service]",
      "Type=oneshot",
      `ExecStart=${AGENTS_ON_NODE}/${version}/hooks/${ACCESS_RULESET_FILE} metrics`,
      "",
    ].join("\n"),
    timer: ["[Unit]", "Description=wg-mesh access policy metrics every minute", "", "[Timer]", "OnBootSec=1min", "OnUnitActiveSec=1min", "AccuracySec=5s", "", "[Install]", "WantedBy=timers.target", ""].join("\n"),
  };
}

/** What the failover and access features add to the agent (./agent.ts, agentFiles). */
export function featureAgentFiles(version: string): SetFile[] {
  const metrics = accessMetricsUnits(version);
  return [
    { name: "wgmesh-watchdog", mode: "0755", content: shippedWatchdog() },
    { name: `hooks/${FAILOVER_FILE}`, mode: "0755", content: failoverHook() },
    { name: "unit/wgmesh-watchdog.service", mode: "0644", content: watchdogUnit(version) },
    { name: `hooks/${ACCESS_RULESET_FILE}`, mode: "0755", content: shippedFirewall() },
    { name: "unit/wgmesh-access-metrics.service", mode: "0644", content: metrics.service },
    { name: "unit/wgmesh-access-metrics.timer", mode: "0644", content: metrics.timer },
  ];
}
