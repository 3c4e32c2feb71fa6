/**
 * How the node agent (infra/render/wgmesh-sync.sh) applies a new wg0.conf to a running interface,
 * decided the same way its bash does: restart_reason first (the first of Address, DNS, Table,
 * PreUp, PreDown, SaveConfig that differs, an MTU dropped altogether, or a change in /0 AllowedIPs),
 * then sync_config (a new ListenPort, PrivateKey or FwMark goes through `wg syncconf`; otherwise
 * only the peers are synced), a new MTU set in place (`ip link set mtu`), then the hooks (new
 * PostUp/PostDown lines are swapped). Nodes still on the sync script of their user data (before
 * node agents) restart for a new MTU too: `legacyMtu`.
 */
import type { WgQuickConfig } from "../model";

export type SyncKind =
  /** The file is the same byte for byte: the sync unit does nothing. */
  | "unchanged"
  /** The file changed, but nothing wg, ip or a hook would apply (comments only). */
  | "file-only"
  /** Peers synced with `wg addconf` and `wg set ... remove`, routes reconciled, hooks swapped: no tunnel drops. */
  | "in-place"
  /** `wg syncconf`: a new private key or listen port is set in place; tunnels handshake again. */
  | "syncconf"
  /** `wg-quick down` then `up`: every tunnel of the node drops for a moment. */
  | "restart";

export interface SyncOutcome {
  kind: SyncKind;
  /** The wg-quick setting that decided it, as restart_reason prints it (restart, syncconf). */
  reason?: string;
  /** PostUp/PostDown changed: the old PostDown runs, then the new PostUp. */
  hooksSwapped: boolean;
  /** A new MTU, set on the running interface. */
  mtu?: { before: number; after: number };
}

const RESTART_KEYS = ["Address", "DNS", "Table", "PreUp", "PreDown", "SaveConfig"] as const;

function interfaceValues(c: WgQuickConfig, key: (typeof RESTART_KEYS)[number]): string {
  switch (key) {
    case "Address":
      return c.iface.addresses.join(",");
    case "PreUp":
      return c.iface.preUp.join("\n");
    case "PreDown":
      return c.iface.preDown.join("\n");
    default:
      return c.iface.other.get(key) ?? "";
  }
}

function defaultRoutes(c: WgQuickConfig): string {
  return c.peers.flatMap((p) => p.allowedIps.filter((a) => a.endsWith("/0"))).join(",");
}

function peersText(c: WgQuickConfig): string {
  return JSON.stringify(c.peers.map((p) => [p.publicKey, p.presharedKey ?? "", p.endpoint ?? "", p.allowedIps, p.persistentKeepalive ?? 0]));
}

export function syncOutcome(oldText: string, newText: string, oldConf: WgQuickConfig, newConf: WgQuickConfig, opts: { legacyMtu?: boolean } = {}): SyncOutcome {
  if (oldText === newText) return { kind: "unchanged", hooksSwapped: false };
  const hooksSwapped = oldConf.iface.postUp.join("\n") !== newConf.iface.postUp.join("\n") || oldConf.iface.postDown.join("\n") !== newConf.iface.postDown.join("\n");
  for (const key of RESTART_KEYS) {
    if (interfaceValues(oldConf, key) !== interfaceValues(newConf, key)) return { kind: "restart", reason: key, hooksSwapped: false };
  }
  const [before, after] = [oldConf.iface.mtu, newConf.iface.mtu];
  if (before !== after && (after === undefined || opts.legacyMtu)) return { kind: "restart", reason: "MTU", hooksSwapped: false };
  const mtu = before !== after && before !== undefined && after !== undefined ? { mtu: { before, after } } : {};
  if (defaultRoutes(oldConf) !== defaultRoutes(newConf)) return { kind: "restart", reason: "a /0 AllowedIPs", hooksSwapped: false };
  if (oldConf.iface.privateKey !== newConf.iface.privateKey) return { kind: "syncconf", reason: "PrivateKey", hooksSwapped, ...mtu };
  if (oldConf.iface.listenPort !== newConf.iface.listenPort) return { kind: "syncconf", reason: "ListenPort", hooksSwapped, ...mtu };
  if ((oldConf.iface.other.get("FwMark") ?? "") !== (newConf.iface.other.get("FwMark") ?? "")) return { kind: "syncconf", reason: "FwMark", hooksSwapped, ...mtu };
  if (peersText(oldConf) !== peersText(newConf) || "mtu" in mtu) return { kind: "in-place", hooksSwapped, ...mtu };
  return { kind: hooksSwapped ? "in-place" : "file-only", hooksSwapped };
}
