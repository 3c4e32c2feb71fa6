/**
 * What changes in one node's wg0.conf, in wg-quick's words: interface settings, and peers
 * added, removed or changed (AllowedIPs, Endpoint, PersistentKeepalive, PresharedKey,
 * PublicKey). Peers are matched by the node that owns them, so a peer whose key is rotated is
 * one changed peer, not one removed and one added.
 */
import type { WgPeer, WgQuickConfig } from "../model";

export interface FieldChange {
  /** The wg-quick key: Address, MTU, ListenPort, PrivateKey, PostUp, AllowedIPs, Endpoint, ... */
  key: string;
  before?: string;
  after?: string;
  /** For lists (AllowedIPs): what is added and removed. */
  added?: string[];
  removed?: string[];
}

export interface PeerChange {
  peer: string;
  change: "added" | "removed" | "changed";
  /** For an added peer: its settings; for a removed one: what it had; for a changed one: what differs. */
  fields: FieldChange[];
}

/** Keys are never shown: a rotation is said in words. */
const ROTATED = "(rotated)";

function listChange(key: string, before: string[], after: string[]): FieldChange | undefined {
  const added = after.filter((x) => !before.includes(x));
  const removed = before.filter((x) => !after.includes(x));
  if (added.length === 0 && removed.length === 0 && before.join(",") === after.join(",")) return undefined;
  return { key, before: before.join(", "), after: after.join(", "), added, removed };
}

function valueChange(key: string, before: string | number | undefined, after: string | number | undefined): FieldChange | undefined {
  if (before === after) return undefined;
  return { key, ...(before !== undefined ? { before: String(before) } : {}), ...(after !== undefined ? { after: String(after) } : {}) };
}

function secretChange(key: string, before: string | undefined, after: string | undefined): FieldChange | undefined {
  if (before === after) return undefined;
  if (before === undefined) return { key, after: "(added)" };
  if (after === undefined) return { key, before: "(removed)" };
  return { key, after: ROTATED };
}

function defined<T>(xs: (T | undefined)[]): T[] {
  return xs.filter((x): x is T => x !== undefined);
}

export function interfaceChanges(before: WgQuickConfig, after: WgQuickConfig): FieldChange[] {
  const a = before.iface;
  const b = after.iface;
  const other = [...new Set([...a.other.keys(), ...b.other.keys()])].sort();
  return defined([
    listChange("Address", a.addresses, b.addresses),
    valueChange("ListenPort", a.listenPort, b.listenPort),
    valueChange("MTU", a.mtu, b.mtu),
    secretChange("PrivateKey", a.privateKey, b.privateKey),
    ...other.map((k) => valueChange(k, a.other.get(k), b.other.get(k))),
    listChange("PreUp", a.preUp, b.preUp),
    listChange("PostUp", a.postUp, b.postUp),
    listChange("PreDown", a.preDown, b.preDown),
    listChange("PostDown", a.postDown, b.postDown),
  ]);
}

function peerSettings(p: WgPeer): FieldChange[] {
  return defined([
    { key: "AllowedIPs", after: p.allowedIps.join(", ") },
    p.endpoint !== undefined ? { key: "Endpoint", after: p.endpoint } : undefined,
    p.persistentKeepalive !== undefined ? { key: "PersistentKeepalive", after: String(p.persistentKeepalive) } : undefined,
    p.presharedKey !== undefined ? { key: "PresharedKey", after: "(set)" } : undefined,
  ]);
}

function peerFieldChanges(a: WgPeer, b: WgPeer): FieldChange[] {
  return defined([
    listChange("AllowedIPs", a.allowedIps, b.allowedIps),
    valueChange("Endpoint", a.endpoint, b.endpoint),
    valueChange("PersistentKeepalive", a.persistentKeepalive, b.persistentKeepalive),
    secretChange("PresharedKey", a.presharedKey, b.presharedKey),
    secretChange("PublicKey", a.publicKey, b.publicKey),
  ]);
}

/** `ownerOf` names the node a public key belongs to (either side's key). */
export function peerChanges(before: WgQuickConfig, after: WgQuickConfig, ownerOf: (publicKey: string) => string | undefined): PeerChange[] {
  const byOwner = (c: WgQuickConfig): Map<string, WgPeer> => new Map(c.peers.map((p) => [ownerOf(p.publicKey) ?? p.publicKey, p]));
  const a = byOwner(before);
  const b = byOwner(after);
  const out: PeerChange[] = [];
  for (const [name, peer] of b) {
    const old = a.get(name);
    if (!old) out.push({ peer: name, change: "added", fields: peerSettings(peer) });
    else {
      const fields = peerFieldChanges(old, peer);
      if (fields.length > 0) out.push({ peer: name, change: "changed", fields });
    }
  }
  for (const [name, peer] of a) if (!b.has(name)) out.push({ peer: name, change: "removed", fields: peerSettings(peer) });
  return out;
}
