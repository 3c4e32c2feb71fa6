/**
 * Config problems visible without sending a packet: peers listed on one side only, links
 * nobody can start, Endpoints that depend on the other side sending first or point at a
 * port nobody listens on, and AllowedIPs that overlap in a way that misroutes a node.
 */
import { formatIPv4, formatPrefix } from "../cidr";
import { isWireGuardKey } from "../keys";
import { peerLabel, shortKey, type MeshModel, type NodeModel, type PeerState } from "./mesh-model";
import type { Finding, FindingKind, Severity } from "./types";

class Collector {
  readonly items: Finding[] = [];
  add(severity: Severity, kind: FindingKind, subject: string, nodes: string[], message: string): void {
    this.items.push({ severity, kind, subject, nodes, message });
  }
}

function endpointPort(endpoint: string): number | undefined {
  const m = /:(\d{1,5})$/.exec(endpoint);
  return m ? Number(m[1]) : undefined;
}

function peeringFindings(node: NodeModel, out: Collector): void {
  for (const peer of node.peers.values()) {
    const other = peer.node;
    if (!other) {
      const why = isWireGuardKey(peer.key) ? "" : " (not a WireGuard key: a placeholder?)";
      out.add("warning", "unknown-peer", node.name, [node.name], `lists peer ${peerLabel(peer)} whose PublicKey is no node's${why}`);
      continue;
    }
    if (node.publicKey === undefined) continue;
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
    if (other.index > node.index) linkFindings(node, peer, other, back, out); // each mutual link once
  }
}

/** `a` lists `b` as `ab`, `b` lists `a` as `ba`. */
function linkFindings(a: NodeModel, ab: PeerState, b: NodeModel, ba: PeerState, out: Collector): void {
  const subject = `${a.name} <-> ${b.name}`;
  const nodes = [a.name, b.name];
  if (ab.endpoint === undefined && ba.endpoint === undefined) {
    out.add("warning", "no-endpoint", subject, nodes, "neither side has an Endpoint for the other, so no handshake can start; give the side that can be reached an Endpoint in the other's [Peer]");
    return;
  }
  const sides: [NodeModel, PeerState, NodeModel, PeerState][] = [
    [a, ab, b, ba],
    [b, ba, a, ab],
  ];
  for (const [self, toOther, other, toSelf] of sides) {
    if (toOther.endpoint === undefined) continue;
    if (toSelf.endpoint === undefined && !toOther.keepalive) {
      out.add(
        "warning",
        "endpoint-one-side-no-keepalive",
        subject,
        nodes,
        `only ${self.name} has an Endpoint (for ${other.name}) and it sends no PersistentKeepalive, so ${other.name} -> ${self.name} traffic waits until ${self.name} sends first; add PersistentKeepalive = 25 to ${self.name}'s [Peer] for ${other.name}`,
      );
    }
    const port = endpointPort(toOther.endpoint);
    if (other.listenPort === undefined) {
      out.add(
        "warning",
        "endpoint-port",
        subject,
        nodes,
        `${self.name} dials ${other.name} at ${toOther.endpoint}, but ${other.name} has no ListenPort and so listens on a random port; add ListenPort = ${port ?? 51820} to ${other.name}`,
      );
    } else if (port !== undefined && port !== other.listenPort) {
      out.add("warning", "endpoint-port", subject, nodes, `${self.name} dials ${other.name} at ${toOther.endpoint}, but ${other.name} has ListenPort = ${other.listenPort}; fine only if a NAT maps port ${port} to it`);
    }
  }
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
  for (const node of mesh.nodes) {
    peeringFindings(node, out);
    allowedIpsFindings(node, out);
  }
  return out.items;
}
