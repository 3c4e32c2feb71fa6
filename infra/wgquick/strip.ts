/**
 * What `wg-quick strip` hands to `wg setconf`: only the keys wg itself accepts. Address,
 * MTU, DNS, Table, the hooks and SaveConfig are wg-quick's own and would make wg refuse
 * the file ("Line unrecognized").
 */
import type { WgQuickConfig } from "../model";

/** [Interface] keys `wg setconf` accepts besides PrivateKey and ListenPort. */
const WG_INTERFACE_EXTRA_KEYS = ["fwmark"];

export function stripForWg(cfg: WgQuickConfig): string {
  const out = ["[Interface]"];
  if (cfg.iface.privateKey !== undefined) out.push(`PrivateKey = ${cfg.iface.privateKey}`);
  if (cfg.iface.listenPort !== undefined) out.push(`ListenPort = ${cfg.iface.listenPort}`);
  for (const [key, value] of cfg.iface.other) {
    if (WG_INTERFACE_EXTRA_KEYS.includes(key.toLowerCase())) out.push(`${key} = ${value}`);
  }
  for (const peer of cfg.peers) {
    out.push("", "[Peer]", `PublicKey = ${peer.publicKey}`);
    if (peer.presharedKey !== undefined) out.push(`PresharedKey = ${peer.presharedKey}`);
    if (peer.endpoint !== undefined) out.push(`Endpoint = ${peer.endpoint}`);
    if (peer.allowedIps.length > 0) out.push(`AllowedIPs = ${peer.allowedIps.join(", ")}`);
    if (peer.persistentKeepalive !== undefined) out.push(`PersistentKeepalive = ${peer.persistentKeepalive}`);
  }
  return `${out.join("\n")}\n`;
}
