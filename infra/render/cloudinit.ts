/**
 * A node's user data (#cloud-config; AWS user data, GCP metadata `user-data`, Azure custom data).
 * It installs the sync unit and nothing else: no key, no peer, no overlay address. The node's
 * wg0.conf reaches the VM only through its vault, so this document is a function of the node's
 * name, interface and vault alone and stays byte-identical while the mesh changes around it.
 */
import { stringify } from "yaml";
import { NODE_COMMAND_PATH, shippedNodeCommand, shippedSyncScript } from "./node-command";
import { checkedInterfaceName, checkedNodeName, describeVault, SYNC_SCRIPT_PATH, SYNC_UNIT, type DeliveryOptions } from "./sync-script";

export type { DeliveryOptions } from "./sync-script";

/** wireguard-tools for wg/wg-quick, curl (--aws-sigv4 needs >= 7.75) and jq for the vault APIs. */
export const CLOUD_INIT_PACKAGES = ["wireguard-tools", "curl", "jq"] as const;

/** AWS takes at most 16 KiB of user data (counted gzip-compressed, as it is sent: ./user-data.ts); the others allow more. */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

export function renderCloudInit(opts: DeliveryOptions): string {
  const iface = checkedInterfaceName(opts.interfaceName);
  const node = checkedNodeName(opts.node);
  const document = {
    package_update: true,
    packages: [...CLOUD_INIT_PACKAGES],
    write_files: [
      { path: SYNC_SCRIPT_PATH, owner: "root:root", permissions: "0755", content: shippedSyncScript(opts) },
      // `sudo wgmesh doctor`: it reads the sync script above for everything node-specific.
      { path: NODE_COMMAND_PATH, owner: "root:root", permissions: "0755", content: shippedNodeCommand() },
      { path: `/etc/systemd/system/${SYNC_UNIT}.service`, owner: "root:root", permissions: "0644", content: serviceUnit(iface, opts) },
      { path: `/etc/systemd/system/${SYNC_UNIT}.timer`, owner: "root:root", permissions: "0644", content: timerUnit(iface) },
    ],
    runcmd: [
      "systemctl daemon-reload",
      `systemctl enable --now ${SYNC_UNIT}.timer`,
      // The first sync now rather than at the timer's next tick.
      `systemctl start --no-block ${SYNC_UNIT}.service`,
    ],
  };
  const comment = [
    "#cloud-config",
    `# wg-mesh node ${node}: installs ${SYNC_SCRIPT_PATH}, which fetches ${iface}.conf`,
    `# from ${describeVault(opts.vault)}`,
    "# with this VM's own identity. No key, peer or overlay address is in here.",
  ].join("\n");
  return `${comment}\n${stringify(document, { blockQuote: "literal", lineWidth: 0, indentSeq: false })}`;
}

function serviceUnit(iface: string, opts: DeliveryOptions): string {
  return [
    "[Unit]",
    `Description=wg-mesh: fetch ${iface}.conf from ${describeVault(opts.vault)} and apply it`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${SYNC_SCRIPT_PATH}`,
    "TimeoutStartSec=5min",
    // Without the kernel module wg-quick starts wireguard-go, which has to outlive this run.
    "KillMode=process",
    "",
  ].join("\n");
}

function timerUnit(iface: string): string {
  return [
    "[Unit]",
    `Description=wg-mesh: keep ${iface} in step with its vault, at boot and every minute`,
    "",
    "[Timer]",
    "OnBootSec=10s",
    "OnUnitActiveSec=1min",
    "AccuracySec=5s",
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
}
