/**
 * Every ordered pair's packets at once, sharing the work per destination: each node's kernel
 * route and WireGuard peer for every destination address are looked up once (one row per
 * node) instead of at every hop of every walk. A one-way trip from a to b then costs a few
 * array reads per hop. The rules are PacketWalker's, in its order; a trip that breaks any of
 * them is walked again by PacketWalker, which says where and why and notes what it saw, so
 * results and findings are the same as walking every pair with it.
 */
import type { MeshModel, NodeModel, PeerState } from "./mesh-model";
import type { PacketWalker } from "./walk";

const DEFAULT_TTL = 64;
/** peer[] values besides a node index. */
const NO_PEER = -1;
const PEER_WITHOUT_NODE = -2;

export class AllPairs {
  readonly n: number;
  /** peer[x * n + z]: the node x's WireGuard sends z's address to. */
  readonly peer: Int32Array;
  /** routed[x * n + z]: x has a kernel route into wg0 for z's address. */
  readonly routed: Uint8Array;
  /** A node that alone owns its address; walks to any other one go to PacketWalker. */
  private readonly simple: Uint8Array;
  readonly forwarding: Uint8Array;
  readonly seen: Int32Array;
  /** linkState[x * n + y]: 0 not asked yet, 1 the two can handshake, 2 they cannot. */
  private readonly linkState: Uint8Array;
  stamp = 0;

  constructor(
    private readonly mesh: MeshModel,
    private readonly walker: PacketWalker,
  ) {
    const nodes = mesh.nodes;
    const n = (this.n = nodes.length);
    this.peer = new Int32Array(n * n);
    this.routed = new Uint8Array(n * n);
    this.simple = new Uint8Array(n);
    this.forwarding = new Uint8Array(n);
    this.seen = new Int32Array(n);
    const owners = new Map<number, number>();
    for (const node of nodes) for (const ip of node.own) owners.set(ip, (owners.get(ip) ?? 0) + 1);
    for (const node of nodes) {
      this.forwarding[node.index] = node.forwarding ? 1 : 0;
      this.simple[node.index] = usable(node) && owners.get(node.address as number) === 1 ? 1 : 0;
    }
    // Each node's tables matched against every address in one sweep (addresses sorted once).
    const addressed = nodes.filter((z) => z.address !== undefined).sort((a, b) => (a.address as number) - (b.address as number));
    const ips = addressed.map((z) => z.address as number);
    const peers: (PeerState | undefined)[] = new Array(ips.length);
    const routes: (true | undefined)[] = new Array(ips.length);
    for (const x of nodes) {
      const row = x.index * n;
      x.table.matchAll(ips, peers);
      x.routes.matchAll(ips, routes);
      addressed.forEach((z, i) => {
        const p = peers[i];
        this.routed[row + z.index] = routes[i] === undefined ? 0 : 1;
        this.peer[row + z.index] = p === undefined ? NO_PEER : p.node ? p.node.index : PEER_WITHOUT_NODE;
      });
    }
    this.linkState = new Uint8Array(n * n);
  }

  /** Whether the two can complete a handshake (asked once per ordered pair). */
  canHandshake(x: number, y: number): boolean {
    const at = x * this.n + y;
    let link = this.linkState[at] as number;
    if (link === 0) {
      link = this.walker.linkProblem(this.mesh.nodes[x] as NodeModel, this.mesh.nodes[y] as NodeModel) ? 2 : 1;
      this.linkState[at] = link;
    }
    return link === 1;
  }

  /** Both ends usable and alone on their addresses: trip() decides exactly. Otherwise walk with PacketWalker. */
  covers(a: number, b: number): boolean {
    return this.simple[a] === 1 && this.simple[b] === 1;
  }

  /**
   * Whether a packet from a's address, sent by a, reaches b under every rule; `path`, when
   * given, receives the node indices it crosses (both ends). Only for pairs covers() accepts.
   */
  trip(a: number, b: number, path?: number[]): boolean {
    return tripUnder(this, a, b, AS_WRITTEN, path);
  }

}

/**
 * What differs from the files as written while a failure lasts: nodes whose watchdog switched to
 * another table (their rows), a dead node, or a cut link (failures.ts).
 */
export interface Scenario {
  peerRows: (Int32Array | undefined)[];
  routedRows: (Uint8Array | undefined)[];
  /** A node that is down, or -1. */
  dead: number;
  /** The ends of a link that carries nothing, or -1. */
  cutA: number;
  cutB: number;
}

/** The files as they are: no node switched, none dead, no link cut. */
const AS_WRITTEN: Scenario = { peerRows: [], routedRows: [], dead: -1, cutA: -1, cutB: -1 };

/** The trip() rules, under a scenario (failures.ts) or the files as written. */
export function tripUnder(fast: AllPairs, a: number, b: number, sc: Scenario, path?: number[]): boolean {
  const n = fast.n;
  const stamp = ++fast.stamp;
  fast.seen[a] = stamp;
  path?.push(a);
  let at = a;
  let ttl = DEFAULT_TTL;
  for (;;) {
    if (at === b) return true;
    if (at !== a) {
      if (!fast.forwarding[at] || --ttl === 0) return false;
    }
    const peers = sc.peerRows[at];
    const routed = sc.routedRows[at];
    if (!(routed ? routed[b] : fast.routed[at * n + b])) return false;
    const next = (peers ? peers[b] : fast.peer[at * n + b]) as number;
    if (next < 0 || next === sc.dead) return false;
    if ((at === sc.cutA && next === sc.cutB) || (at === sc.cutB && next === sc.cutA)) return false;
    if (!fast.canHandshake(at, next)) return false;
    const back = sc.peerRows[next];
    if ((back ? back[a] : fast.peer[next * n + a]) !== at) return false;
    if (fast.seen[next] === stamp) return false;
    fast.seen[next] = stamp;
    path?.push(next);
    at = next;
  }
}

/** A node that can take part at all: an identity and an address. */
export function usable(node: NodeModel): boolean {
  return node.keyProblem === undefined && node.address !== undefined;
}
