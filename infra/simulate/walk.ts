/**
 * One packet's trip through the mesh, hop by hop, with the rules Linux and WireGuard apply:
 * local delivery, the forwarding switch, the kernel route into wg0, WireGuard's outbound
 * longest-prefix match over AllowedIPs, whether the two ends can handshake at all, and
 * WireGuard's inbound check that the source belongs to the peer it came from.
 */
import { formatIPv4 } from "../cidr";
import { quoteWg } from "../quote";
import { judgeEndpoint } from "./endpoints";
import { peerLabel, shortKey, type MeshModel, type NodeModel, type PeerState } from "./mesh-model";

/** Linux's default TTL for locally sent packets; each forwarding node takes one off. */
const DEFAULT_TTL = 64;

export interface Drop {
  at: NodeModel;
  reason: string;
}

export interface WalkResult {
  /** Names of the nodes the packet reached, in order. */
  path: string[];
  drop?: Drop;
}

export interface ForwardingMiss {
  node: NodeModel;
  packets: number;
  example: string;
}

export class PacketWalker {
  private readonly links = new Map<number, Drop | null>();
  /** visited[node.index] === walkId marks the nodes of the current walk without allocating a set. */
  private readonly visited: Int32Array;
  private walkId = 0;
  /** Nodes that dropped packets because forwarding is off, with how often. */
  readonly forwardingMisses = new Map<NodeModel, ForwardingMiss>();

  private readonly byName: Map<string, NodeModel>;

  constructor(readonly mesh: MeshModel) {
    this.visited = new Int32Array(mesh.nodes.length);
    this.byName = new Map(mesh.nodes.map((n) => [n.name, n]));
  }

  /** Why `from` cannot get a packet to its peer `to` at all, or null when they can handshake. */
  linkProblem(from: NodeModel, to: NodeModel): Drop | null {
    const id = from.index * this.mesh.nodes.length + to.index;
    const cached = this.links.get(id);
    if (cached !== undefined) return cached;
    const problem = this.handshakeProblem(from, to);
    this.links.set(id, problem);
    return problem;
  }

  /**
   * A handshake needs both sides to list each other, the same PresharedKey on both (or none),
   * and at least one side whose Endpoint reaches the other where it listens: the first
   * authenticated packet then teaches the other side where to answer (WireGuard's roaming).
   */
  private handshakeProblem(from: NodeModel, to: NodeModel): Drop | null {
    if (to.down) return { at: to, reason: `${to.name} is not up: ${to.down}` };
    const back = to.peers.get(from.publicKey as string);
    if (!back) {
      return { at: to, reason: `${from.name} is not a peer of ${to.name} (no [Peer] with PublicKey ${shortKey(from.publicKey as string)}), so ${to.name} refuses its handshake` };
    }
    const out = from.peers.get(to.publicKey as string) as PeerState;
    if (out.presharedKey !== back.presharedKey) {
      const which =
        out.presharedKey === undefined
          ? `${to.name} has a PresharedKey for ${from.name} but ${from.name} has none for ${to.name}`
          : back.presharedKey === undefined
            ? `${from.name} has a PresharedKey for ${to.name} but ${to.name} has none for ${from.name}`
            : `their PresharedKeys for each other differ`;
      return { at: from, reason: `no handshake with ${to.name}: ${which}, and a handshake needs the same one on both sides` };
    }
    if (out.endpoint === undefined && back.endpoint === undefined) {
      return { at: from, reason: `no handshake with ${to.name}: neither ${from.name} nor ${to.name} has an Endpoint for the other` };
    }
    const forth = this.endpointProblem(from, to, out);
    const backward = this.endpointProblem(to, from, back);
    if (forth === undefined || backward === undefined) return null;
    const why = [forth, backward].filter((w) => w !== "").join("; ");
    return { at: from, reason: `no handshake with ${to.name}: ${why}` };
  }

  /** Why `self`'s Endpoint for `other` does not reach it ("" when there is none), undefined when it does. */
  private endpointProblem(self: NodeModel, other: NodeModel, entry: PeerState): string | undefined {
    if (entry.endpoint === undefined) return "";
    const v = judgeEndpoint(entry.endpoint, other.name, (n) => this.byName.get(n)?.listenPort, this.mesh.hosts);
    if (v.ok === true) return undefined;
    const at = `${self.name} dials ${other.name} at ${quoteWg(entry.endpoint)}`;
    switch (v.kind) {
      case "wrong-node":
        return `${at}, which is ${v.reaches}'s address, so ${v.reaches} gets a handshake it cannot decrypt`;
      case "no-listen-port":
        return `${at}, but ${other.name} has no ListenPort and listens on a random port`;
      case "wrong-port":
        return `${at}, but ${other.name} listens on port ${v.listenPort}`;
    }
  }

  /** `what` names the packet for findings, e.g. "a -> b" or "b -> a (reply)"; built only when needed. */
  walk(from: NodeModel, to: NodeModel, src: number, dst: number, what: () => string): WalkResult {
    const walkId = ++this.walkId;
    const path = [from.name];
    this.visited[from.index] = walkId;
    let at = from;
    let ttl = DEFAULT_TTL;
    for (;;) {
      if (at.own.has(dst)) {
        if (at === to) return { path };
        return { path, drop: { at, reason: `${formatIPv4(dst)} is also ${at.name}'s Address, so the packet is delivered to ${at.name}, not ${to.name}` } };
      }
      if (at !== from) {
        if (!at.forwarding) {
          this.noteForwardingMiss(at, what);
          return { path, drop: { at, reason: "forwarding is off (no PostUp sets net.ipv4.ip_forward=1), so it drops packets for other nodes" } };
        }
        if (--ttl === 0) return { path, drop: { at, reason: `TTL exceeded after ${DEFAULT_TTL} hops` } };
      }
      if (at.routes.match(dst) === undefined) {
        const why =
          at.routeTable === "main"
            ? "no AllowedIPs or Address prefix on its wg0 covers it"
            : `no Address prefix on its wg0 covers it, and Table = ${at.routeTable} keeps AllowedIPs out of the main table`;
        return { path, drop: { at, reason: `no route to ${formatIPv4(dst)}: ${why}` } };
      }
      const peer = at.table.match(dst);
      if (peer === undefined) return { path, drop: { at, reason: `no peer's AllowedIPs contain ${formatIPv4(dst)}` } };
      const next = peer.node;
      if (!next) return { path, drop: { at, reason: `AllowedIPs send ${formatIPv4(dst)} to peer ${peerLabel(peer)}, whose PublicKey is no node's` } };
      const link = this.linkProblem(at, next);
      if (link) return { path, drop: link };
      const sender = next.table.match(src);
      if (sender?.node !== at) {
        const belongs = sender ? ` (it belongs to peer ${peerLabel(sender)})` : "";
        path.push(next.name);
        return { path, drop: { at: next, reason: `source ${formatIPv4(src)} is outside AllowedIPs of peer ${at.name}${belongs}` } };
      }
      path.push(next.name);
      if (this.visited[next.index] === walkId) {
        const loop = path.slice(path.indexOf(next.name)).join(" -> ");
        return { path, drop: { at: next, reason: `loop: ${loop}` } };
      }
      this.visited[next.index] = walkId;
      at = next;
    }
  }

  /**
   * A full-size packet with DF set (as TCP sends once path MTU discovery has run): it fits the
   * sender's own MTU, and every node that forwards it must send it out wg0 again, which drops it
   * when that node's MTU is smaller (ICMP "fragmentation needed"). A receiver takes a packet
   * larger than its own MTU, and replies go out without DF and are fragmented, so only the
   * forwarding nodes of the request's path matter. `path` is a reachable pair's request path.
   */
  largePacket(path: readonly string[]): { size: number; drop?: Drop } {
    const size = (this.byName.get(path[0] as string) as NodeModel).mtu;
    for (const name of path.slice(1, -1)) {
      const node = this.byName.get(name) as NodeModel;
      if (node.mtu < size) {
        return { size, drop: { at: node, reason: `a ${size}-byte packet (the sender's MTU) must leave again through wg0, whose MTU is ${node.mtu}; with DF set it is dropped` } };
      }
    }
    return { size };
  }

  private noteForwardingMiss(node: NodeModel, what: () => string): void {
    const miss = this.forwardingMisses.get(node);
    if (miss) miss.packets++;
    else this.forwardingMisses.set(node, { node, packets: 1, example: what() });
  }
}
