/**
 * Config problems visible without sending a packet: peers listed on one side only, links
 * nobody can start, Endpoints that depend on the other side sending first or point at a
 * port nobody listens on, and AllowedIPs that overlap in a way that misroutes a node.
 */
import { formatIPv4, formatPrefix } from "../cidr";
import { isWireGuardKey } from "../keys";
import { quoteWg } from "../quote";
import { endpointTarget, judgeEndpoint, parseEndpoint } from "./endpoints";
import { peerLabel, shortKey, type MeshModel, type NodeModel, type PeerState } from "./mesh-model";
import type { Finding, FindingKind, PairResult, Severity } from "./types";

class Collector {
  readonly items: Finding[] = [];
  /** Nodes with a listen-port-mismatch finding, whose per-link port findings would only repeat it. */
  listenPortReported = new Set<string>();
  add(severity: Severity, kind: FindingKind, subject: string, nodes: string[], message: string): void {
    this.items.push({ severity, kind, subject, nodes, message });
  }
}

function peeringFindings(node: NodeModel, mesh: MeshModel, out: Collector): void {
  for (const peer of node.peers.values()) {
    const other = peer.node;
    if (!other) {
      const why = isWireGuardKey(peer.key) ? "" : " (not a WireGuard key: a placeholder?)";
      out.add("warning", "unknown-peer", node.name, [node.name], `lists peer ${peerLabel(peer)} whose PublicKey is no node's${why}`);
      continue;
    }
    if (node.publicKey === undefined || other.down) continue;
    const back = other.peers.get(node.publicKey);
    if (!back) {
      out.add(
        "warning",
        "peer-not-listed-back",
        node.name,
        [node.name, other.name],
        `lists peer ${other.name} (${shortKey(peer.key)}) which does not list it back; add a [Peer] for ${node.name} to ${other.name} or remove this one`,
      );
      continue;
    }
    if (other.index > node.index) linkFindings(node, peer, other, back, mesh, out); // each mutual link once
  }
}

/** Nodes whose ListenPort every peer that dials them misses the same way: one finding for the node, not one per link. */
function listenPortFindings(mesh: MeshModel, out: Collector): Set<string> {
  const reported = new Set<string>();
  for (const target of mesh.nodes) {
    if (target.listenPort === undefined || target.publicKey === undefined) continue;
    const dialled: { from: string; port: number }[] = [];
    for (const node of mesh.nodes) {
      const entry = node.peers.get(target.publicKey);
      if (node === target || entry?.endpoint === undefined) continue;
      if (endpointTarget(entry.endpoint, target.name, mesh.hosts) !== target.name) continue;
      const port = parseEndpoint(entry.endpoint)?.port;
      if (port !== undefined) dialled.push({ from: node.name, port });
    }
    const ports = new Set(dialled.map((d) => d.port));
    const [port] = [...ports];
    if (dialled.length < 2 || ports.size !== 1 || port === target.listenPort) continue;
    reported.add(target.name);
    const who = dialled.map((d) => d.from);
    out.add(
      "error",
      "listen-port-mismatch",
      target.name,
      [target.name, ...who],
      `has ListenPort = ${target.listenPort}, but every peer that dials it (${who.join(", ")}) dials port ${port}, where nothing listens; only tunnels it starts itself come up: set ListenPort = ${port} or fix their Endpoints`,
    );
  }
  return reported;
}

/** `a` lists `b` as `ab`, `b` lists `a` as `ba`. */
function linkFindings(a: NodeModel, ab: PeerState, b: NodeModel, ba: PeerState, mesh: MeshModel, out: Collector): void {
  const subject = `${a.name} <-> ${b.name}`;
  const nodes = [a.name, b.name];
  if (ab.presharedKey !== ba.presharedKey) {
    const which =
      ab.presharedKey === undefined
        ? `${b.name} has a PresharedKey for ${a.name} but ${a.name} has none for ${b.name}`
        : ba.presharedKey === undefined
          ? `${a.name} has a PresharedKey for ${b.name} but ${b.name} has none for ${a.name}`
          : "their PresharedKeys for each other differ";
    out.add("error", "preshared-key-mismatch", subject, nodes, `${which}; WireGuard mixes it into the handshake, which then fails both ways, so nothing crosses this tunnel: give both sides the same PresharedKey, or none`);
  }
  if (ab.endpoint === undefined && ba.endpoint === undefined) {
    out.add("warning", "no-endpoint", subject, nodes, "neither side has an Endpoint for the other, so no handshake can start; give the side that can be reached an Endpoint in the other's [Peer]");
    return;
  }
  const sides: [NodeModel, PeerState, NodeModel, PeerState][] = [
    [a, ab, b, ba],
    [b, ba, a, ab],
  ];
  const listenPortOf = (n: string): number | undefined => (n === a.name ? a.listenPort : n === b.name ? b.listenPort : mesh.nodes.find((x) => x.name === n)?.listenPort);
  const works = sides.map(([, toOther, other]) => toOther.endpoint !== undefined && judgeEndpoint(toOther.endpoint, other.name, listenPortOf, mesh.hosts).ok);
  const linkUp = works.some(Boolean);
  sides.forEach(([self, toOther, other, toSelf], i) => {
    if (toOther.endpoint === undefined) return;
    const shown = quoteWg(toOther.endpoint);
    const verdict = judgeEndpoint(toOther.endpoint, other.name, listenPortOf, mesh.hosts);
    // A broken Endpoint is an error when it leaves the tunnel with no way up; when the other side
    // dials correctly the tunnel comes up from there (WireGuard then learns the right address).
    const severity = linkUp ? "warning" : "error";
    const rescue = linkUp ? `; the tunnel comes up only when ${other.name} dials first` : "; nothing else starts this tunnel, so it stays down";
    if (verdict.ok === false && verdict.kind === "wrong-node") {
      out.add(severity, "endpoint-wrong-node", subject, [...nodes, verdict.reaches], `${self.name}'s Endpoint for ${other.name}, ${shown}, is ${verdict.reaches}'s address (other peers reach ${verdict.reaches} there), so its handshakes go to ${verdict.reaches}, which cannot decrypt them${rescue}; write ${other.name}'s address`);
    } else if (verdict.ok === false && verdict.kind === "no-listen-port") {
      out.add(severity, "endpoint-port", subject, nodes, `${self.name} dials ${other.name} at ${shown}, but ${other.name} has no ListenPort and so listens on a random port${rescue}; add ListenPort = ${parseEndpoint(toOther.endpoint)?.port ?? 51820} to ${other.name}`);
    } else if (verdict.ok === false && verdict.kind === "wrong-port" && !out.listenPortReported.has(other.name)) {
      out.add(severity, "endpoint-port", subject, nodes, `${self.name} dials ${other.name} at ${shown}, but ${other.name} has ListenPort = ${verdict.listenPort}${rescue}; dial port ${verdict.listenPort} (unless a NAT maps port ${verdict.port} to it)`);
    }
    if (works[i] && toSelf.endpoint === undefined && !toOther.keepalive) {
      out.add(
        "warning",
        "endpoint-one-side-no-keepalive",
        subject,
        nodes,
        `only ${self.name} has an Endpoint (for ${other.name}) and it sends no PersistentKeepalive, so ${other.name} -> ${self.name} traffic waits until ${self.name} sends first; add PersistentKeepalive = 25 to ${self.name}'s [Peer] for ${other.name}`,
      );
    }
  });
}

/**
 * Every peer's own address must come back to that peer by longest-prefix match, or the node
 * sends that peer's traffic elsewhere and drops what the peer sends. Nested prefixes that do
 * not cause this are normal (a default route to the hub plus direct peers) and only noted.
 */
function allowedIpsFindings(node: NodeModel, out: Collector): void {
  const misrouting = new Set<string>();
  for (const peer of node.peers.values()) {
    const other = peer.node;
    if (!other || other.address === undefined) continue;
    const ip = formatIPv4(other.address);
    const hit = node.table.matchPrefix(other.address);
    if (hit?.value === peer) continue;
    if (hit) {
      const taken = formatPrefix(hit.prefix);
      misrouting.add(taken);
      out.add(
        "warning",
        "address-routed-elsewhere",
        node.name,
        [node.name, other.name],
        `${other.name}'s address ${ip} matches ${taken} of peer ${peerLabel(hit.value)} before anything of peer ${other.name}, so traffic for ${other.name} goes to ${peerLabel(hit.value)} and what ${other.name} sends from ${ip} is dropped; add ${ip}/32 to peer ${other.name}'s AllowedIPs or remove the overlap`,
      );
    } else {
      out.add(
        "warning",
        "address-routed-elsewhere",
        node.name,
        [node.name, other.name],
        `AllowedIPs of peer ${other.name} do not contain its address ${ip}, so ${node.name} drops what ${other.name} sends from it; add ${ip}/32`,
      );
    }
  }
  // Only the first is spelled out, so only the first is formatted: a hub has thousands.
  let first: string | undefined;
  let count = 0;
  for (const { prefix, value } of node.table.entries()) {
    const outer = node.table.enclosing(prefix);
    if (!outer || outer.value === value || (misrouting.size > 0 && misrouting.has(formatPrefix(prefix)))) continue;
    count++;
    first ??= `${formatPrefix(outer.prefix)} (${peerLabel(outer.value)}) contains ${formatPrefix(prefix)} (${peerLabel(value)})`;
  }
  if (first !== undefined) {
    const more = count > 1 ? ` and ${count - 1} more` : "";
    out.add("note", "nested-allowed-ips", node.name, [node.name], `nested AllowedIPs on different peers: ${first}${more}; the longest prefix wins, and none of these sends a peer's own address elsewhere`);
  }
}

export function staticFindings(mesh: MeshModel): Finding[] {
  const out = new Collector();
  out.listenPortReported = listenPortFindings(mesh, out);
  for (const node of mesh.nodes) {
    if (node.down) continue;
    peeringFindings(node, mesh, out);
    allowedIpsFindings(node, out);
  }
  return out.items;
}

/**
 * Tunnels whose ends have different MTUs. wg-quick uses one MTU per interface, so a packet
 * that fits one end is dropped where the other has to send it on. Reported once per node whose
 * MTU differs from the most common one (per link when there is no most common one), as an
 * error when the simulation shows full-size packets lost, else as a warning.
 */
export function mtuFindings(mesh: MeshModel, pairs: readonly PairResult[]): Finding[] {
  const out = new Collector();
  const lost = new Map<string, number>();
  for (const p of pairs) if (p.largePacket && !p.largePacket.reachable && p.largePacket.at) lost.set(p.largePacket.at, (lost.get(p.largePacket.at) ?? 0) + 1);
  // Any loss is the mismatch's doing, wherever it happens: the smaller MTU forwards, the larger sends.
  const count = new Map<number, number>();
  for (const n of mesh.nodes) count.set(n.mtu, (count.get(n.mtu) ?? 0) + 1);
  const ranked = [...count.entries()].sort((x, y) => y[1] - x[1] || y[0] - x[0]);
  const usual = ranked.length > 1 && (ranked[0] as [number, number])[1] > (ranked[1] as [number, number])[1] ? (ranked[0] as [number, number])[0] : undefined;
  const totalLost = [...lost.values()].reduce((x, y) => x + y, 0);
  for (const node of mesh.nodes) {
    if (usual !== undefined && node.mtu === usual) continue;
    const differing = [...node.peers.values()]
      .map((p) => p.node)
      .filter((o): o is NodeModel => o !== undefined && o.mtu !== node.mtu && o.publicKey !== undefined && o.peers.has(node.publicKey ?? ""));
    if (usual === undefined) {
      // No majority: each differing tunnel once, from its first end.
      const later = differing.filter((o) => o.index > node.index);
      for (const o of later) {
        out.add(totalLost > 0 ? "error" : "warning", "mtu-mismatch", `${node.name} <-> ${o.name}`, [node.name, o.name], `MTU ${node.mtu} on ${node.name} but ${o.mtu} on ${o.name}; ${consequence(totalLost)}: set the same MTU on both (on every node)`);
      }
      continue;
    }
    if (differing.length === 0) continue;
    const theirs = [...new Set(differing.map((o) => o.mtu))].join("/");
    out.add(
      totalLost > 0 ? "error" : "warning",
      "mtu-mismatch",
      node.name,
      [node.name, ...differing.map((o) => o.name)],
      `has MTU = ${node.mtu} but the other end of its tunnels with ${differing.map((o) => o.name).join(", ")} has ${theirs}; ${consequence(totalLost)}: set MTU = ${usual} here, as on the rest of the mesh`,
    );
  }
  return out.items;
}

function consequence(lost: number): string {
  return lost > 0
    ? `full-size packets are dropped where a node with the smaller MTU forwards them (${lost} ordered pair${lost === 1 ? " loses" : "s lose"} them, listed below)`
    : "a packet that fits one end is dropped wherever the other end has to forward it";
}
