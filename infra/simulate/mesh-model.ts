/**
 * The state each node's kernel and WireGuard device end up in after `wg-quick up`, built
 * once per simulation: its identity (public key from PrivateKey), its own addresses, the
 * routes wg-quick adds on wg0, and WireGuard's allowed-ips table (prefix -> peer), with
 * WireGuard's own rules for odd input (an identical prefix belongs to the last peer that
 * names it; a second [Peer] with the same key replaces the first one's AllowedIPs; a peer
 * with the node's own key is ignored). Problems met on the way become findings.
 */
import { formatIPv4, formatPrefix, parseCidr, prefixOf, type Prefix } from "../cidr";
import { isWireGuardKey, publicKeyFromPrivate } from "../keys";
import type { WgQuickConfig } from "../model";
import { plainText, quoteWg } from "../quote";
import { forwardingEnabled } from "../wgquick/forwarding";
import { unknownInterfaceKeyHint } from "../wgquick/parse";
import { routingTableOf } from "../wgquick/table";
import { hostOwners, type EndpointUse } from "./endpoints";
import { PrefixTable } from "./prefix-table";
import type { Finding, FindingKind, Severity } from "./types";

export interface PeerState {
  key: string;
  /** The node owning the key, resolved after every node's key is known. */
  node?: NodeModel;
  endpoint?: string;
  keepalive?: number;
  /** Compared with the other side's, never shown: a handshake needs the same one on both. */
  presharedKey?: string;
  /** IPv4 prefixes this peer holds in the final table (after replacements and ties). */
  prefixes: Prefix[];
  comment?: string;
}

export interface NodeModel {
  name: string;
  index: number;
  config: WgQuickConfig;
  publicKey?: string;
  /** Why the node has no usable identity, e.g. "its PrivateKey is missing". */
  keyProblem?: string;
  /** Source of the node's own packets: the first IPv4 Address. */
  address?: number;
  own: Set<number>;
  /** Prefixes routed into wg0: Address prefixes and, when wg-quick routes them in the main table, every AllowedIPs prefix. */
  routes: PrefixTable<true>;
  /** wg-quick's Table: "main", "off", or a table nothing routes into. */
  routeTable: string;
  /** WireGuard's cryptokey routing table: prefix -> peer. */
  table: PrefixTable<PeerState>;
  /** One entry per peer key, in the order the config first lists them. */
  peers: Map<string, PeerState>;
  forwarding: boolean;
  listenPort?: number;
  /** The interface MTU: the file's, or what wg-quick picks without one on a 1500-byte underlay. */
  mtu: number;
  /** Why the node cannot come up at all (its file does not parse), when it cannot. */
  down?: string;
}

export interface MeshModel {
  nodes: NodeModel[];
  byKey: Map<string, NodeModel>;
  /** Endpoint host -> the node answering there (see endpoints.ts). */
  hosts: Map<string, string>;
  findings: Finding[];
}

/** wg-quick's MTU when a file sets none: the route's 1500 bytes minus WireGuard's 80. */
export const WG_QUICK_DEFAULT_MTU = 1420;

/** Configs by node name. A Map: node names come from file names, which are data (`__proto__` included). */
export type ConfigSet = ReadonlyMap<string, WgQuickConfig> | Readonly<Record<string, WgQuickConfig>>;

export function asConfigMap(configs: ConfigSet): ReadonlyMap<string, WgQuickConfig> {
  return configs instanceof Map ? configs : new Map(Object.entries(configs));
}

/** [Interface] keys wg-quick or wg accept besides the ones the model has fields for. */
const KNOWN_OTHER_KEYS = new Set(["dns", "table", "saveconfig", "fwmark"]);

/** A public key by its first characters: enough to find it, and never enough of anything pasted there by mistake. */
export function shortKey(key: string): string {
  return `${plainText(key.slice(0, 8))}…`;
}

/** How a peer is named in messages: by node when its key is one, else by key and comment. */
export function peerLabel(peer: PeerState): string {
  if (peer.node) return peer.node.name;
  const comment = peer.comment?.split("\n").map((l) => l.trim()).find(Boolean);
  // A comment is free text: shown escaped, cut, and with anything key-like hidden.
  return comment ? `${shortKey(peer.key)} (${plainText(comment, 40)})` : shortKey(peer.key);
}

class FindingList {
  readonly items: Finding[] = [];
  add(severity: Severity, kind: FindingKind, subject: string, nodes: string[], message: string): void {
    this.items.push({ severity, kind, subject, nodes, message });
  }
}

export interface MeshModelOptions {
  /**
   * Public keys already derived from these private keys (by whoever generated them), so a
   * thousand-node plan derives each key once. A key missing here is derived as usual.
   */
  publicKeys?: ReadonlyMap<string, string>;
  /** Nodes that cannot come up, with why (their file does not parse): every pair with them fails. */
  down?: ReadonlyMap<string, string>;
}

function deriveIdentity(node: NodeModel, findings: FindingList, known?: ReadonlyMap<string, string>): void {
  const key = node.config.iface.privateKey;
  if (key === undefined) node.keyProblem = "its PrivateKey is missing";
  else if (!isWireGuardKey(key)) node.keyProblem = "its PrivateKey is not a WireGuard key (a placeholder?)";
  else {
    try {
      node.publicKey = known?.get(key) ?? publicKeyFromPrivate(key);
    } catch {
      node.keyProblem = "its PrivateKey is not a usable X25519 key";
    }
  }
  if (node.keyProblem) {
    findings.add("error", "bad-private-key", node.name, [node.name], `${node.keyProblem}, so it can talk to no peer; write its key from wg genkey`);
  }
}

function readAddresses(node: NodeModel, findings: FindingList): void {
  for (const text of node.config.iface.addresses) {
    if (text.includes(":")) continue; // IPv6: the overlay is IPv4
    const c = parseCidr(text, true);
    if (!c) {
      findings.add("error", "bad-address", node.name, [node.name], `Address ${text} is not an IPv4 address or CIDR; wg-quick up fails on it`);
      continue;
    }
    node.own.add(c.ip);
    node.routes.set(prefixOf(c.ip, c.len), true);
    if (node.address === undefined) node.address = c.ip;
  }
  if (node.address === undefined) findings.add("error", "no-address", node.name, [node.name], "has no IPv4 Address, so it cannot send or receive overlay traffic; add Address = <its overlay IP>/<prefix>");
}

function checkInterfaceKeys(node: NodeModel, findings: FindingList): void {
  for (const key of node.config.iface.other.keys()) {
    if (KNOWN_OTHER_KEYS.has(key.toLowerCase())) continue;
    findings.add(
      "error",
      "unknown-interface-key",
      node.name,
      [node.name],
      `[Interface] key ${quoteWg(key)} is neither wg-quick's nor wg's; wg setconf rejects the file ("Line unrecognized"), so wg-quick up fails${unknownInterfaceKeyHint(key)}`,
    );
  }
}

interface Tie {
  node: NodeModel;
  prefix: Prefix;
  loser: PeerState;
  winner: PeerState;
}

function buildPeerTable(node: NodeModel, findings: FindingList, ties: Tie[]): void {
  node.config.peers.forEach((entry, i) => {
    if (node.publicKey !== undefined && entry.publicKey === node.publicKey) {
      findings.add("note", "self-peer", node.name, [node.name], `[Peer] #${i + 1} has the node's own PublicKey; WireGuard ignores it`);
      return;
    }
    let peer = node.peers.get(entry.publicKey);
    if (peer) {
      findings.add("warning", "duplicate-peer", node.name, [node.name], `lists PublicKey ${shortKey(entry.publicKey)} in two [Peer] sections; wg setconf keeps only the last one's AllowedIPs (${entry.allowedIps.join(", ") || "none"}); merge them`);
      for (const p of peer.prefixes) if (node.table.get(p) === peer) node.table.delete(p);
      peer.prefixes = [];
    } else {
      peer = { key: entry.publicKey, prefixes: [], ...(entry.comment !== undefined ? { comment: entry.comment } : {}) };
      node.peers.set(entry.publicKey, peer);
    }
    if (entry.endpoint !== undefined) peer.endpoint = entry.endpoint;
    if (entry.persistentKeepalive !== undefined) peer.keepalive = entry.persistentKeepalive;
    if (entry.presharedKey !== undefined) peer.presharedKey = entry.presharedKey;
    else delete peer.presharedKey;
    for (const text of entry.allowedIps) {
      if (text.includes(":")) continue;
      const c = parseCidr(text, true);
      if (!c) {
        findings.add("error", "bad-allowed-ips", node.name, [node.name], `AllowedIPs ${text} of [Peer] #${i + 1} is not an IPv4 prefix; wg setconf rejects it, so wg-quick up fails`);
        continue;
      }
      const prefix = prefixOf(c.ip, c.len);
      if (c.hostBitsSet) findings.add("note", "allowed-ips-host-bits", node.name, [node.name], `AllowedIPs ${text} has host bits set; WireGuard uses ${formatPrefix(prefix)}; write that`);
      const loser = node.table.set(prefix, peer);
      if (loser !== undefined && loser !== peer) {
        loser.prefixes = loser.prefixes.filter((p) => p.base !== prefix.base || p.len !== prefix.len);
        // Labels need resolved nodes, so the message is written once keys are mapped.
        ties.push({ node, prefix, loser, winner: peer });
      }
      if (!peer.prefixes.some((p) => p.base === prefix.base && p.len === prefix.len)) peer.prefixes.push(prefix);
    }
  });
  if (node.routeTable === "main") for (const { prefix } of node.table.entries()) node.routes.set(prefix, true);
}

function mapKeys(nodes: NodeModel[], findings: FindingList): Map<string, NodeModel> {
  const byKey = new Map<string, NodeModel>();
  for (const node of nodes) {
    if (node.publicKey === undefined) continue;
    const first = byKey.get(node.publicKey);
    if (first) {
      findings.add("error", "duplicate-public-key", node.name, [first.name, node.name], `has the same PrivateKey as ${first.name} (public key ${shortKey(node.publicKey)}); peers cannot tell them apart; give it its own key (wg genkey)`);
      node.keyProblem = `it shares its PrivateKey with ${first.name}`;
      delete node.publicKey;
      continue;
    }
    byKey.set(node.publicKey, node);
  }
  return byKey;
}

function checkDuplicateAddresses(nodes: NodeModel[], findings: FindingList): void {
  const owner = new Map<number, NodeModel>();
  for (const node of nodes) {
    for (const ip of node.own) {
      const first = owner.get(ip);
      if (first) findings.add("error", "duplicate-address", node.name, [first.name, node.name], `has Address ${formatIPv4(ip)}, which ${first.name} has too; give each node its own overlay address`);
      else owner.set(ip, node);
    }
  }
}

export function buildMeshModel(configSet: ConfigSet, options: MeshModelOptions = {}): MeshModel {
  const down = options.down ?? new Map<string, string>();
  const findings = new FindingList();
  const ties: Tie[] = [];
  const nodes: NodeModel[] = [...asConfigMap(configSet)].map(([name, config], index) => ({
    name,
    index,
    config,
    own: new Set<number>(),
    routes: new PrefixTable<true>(),
    table: new PrefixTable<PeerState>(),
    peers: new Map(),
    forwarding: forwardingEnabled(config.iface),
    routeTable: routingTableOf(config.iface),
    ...(config.iface.listenPort !== undefined ? { listenPort: config.iface.listenPort } : {}),
    mtu: config.iface.mtu ?? WG_QUICK_DEFAULT_MTU,
    ...(down.has(name) ? { down: down.get(name) as string } : {}),
  }));
  for (const node of nodes) {
    // A node whose file does not parse has its problems listed already; findings on what
    // could be read of it would only add noise. Its identity and peers still count for others.
    const own = node.down ? new FindingList() : findings;
    deriveIdentity(node, own, options.publicKeys);
    checkInterfaceKeys(node, own);
    readAddresses(node, own);
    buildPeerTable(node, own, ties);
  }
  const byKey = mapKeys(nodes, findings);
  for (const node of nodes) for (const peer of node.peers.values()) {
    const owner = byKey.get(peer.key);
    if (owner) peer.node = owner;
  }
  for (const t of ties) {
    // Only ties that survived: a later duplicate [Peer] may have taken the prefix away again.
    if (t.node.table.get(t.prefix) !== t.winner || t.node.down) continue;
    findings.add(
      "error",
      "identical-allowed-ips",
      t.node.name,
      [t.node.name],
      `AllowedIPs ${formatPrefix(t.prefix)} is on peers ${peerLabel(t.loser)} and ${peerLabel(t.winner)}; WireGuard keeps it only on the last listed, ${peerLabel(t.winner)}; keep it on one peer`,
    );
  }
  checkDuplicateAddresses(nodes, findings);
  const uses: EndpointUse[] = [];
  for (const node of nodes) {
    for (const peer of node.peers.values()) {
      if (peer.endpoint !== undefined && peer.node) uses.push({ from: node.name, keyNode: peer.node.name, endpoint: peer.endpoint });
    }
  }
  return { nodes, byKey, hosts: hostOwners(uses), findings: findings.items };
}
