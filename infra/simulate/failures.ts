/**
 * Single failures, walked on the rendered files: for every node that dies and every link that
 * stops carrying packets, what each surviving pair does. Still on its path, rerouted, or lost.
 *
 * A failure is only known where WireGuard shows it: a node whose peer's keepalives stop (the dead
 * node's peers; both ends of a cut link) switches to its failover.conf entry for that peer, if it
 * has one; nobody else changes anything. Every other rule is the simulator's (all-pairs.ts): the
 * route into wg0, the peer by longest-prefix match, the handshake, the receiver's source check
 * against the peer it came from, forwarding only where it is on. A pair survives when its
 * request and its reply both arrive.
 *
 * The walk is limited to what a failure can touch: a pair is walked when its path (the same both
 * ways, in a proven plan) crosses the dead node, the cut link, or a node whose table changed for
 * one of its two ends. Without failover tables nothing changes but the failure itself, and each
 * failure's lost pairs are counted from the paths in one pass.
 */
import { parseCidr, prefixOf, type Prefix } from "../cidr";
import type { FailoverTable } from "../failover/format";
import { PrefixTable } from "./prefix-table";
import { AllPairs, tripUnder, usable, type Scenario } from "./all-pairs";
import { buildMeshModel, type ConfigSet, type MeshModel, type MeshModelOptions, type NodeModel, type PeerState } from "./mesh-model";
import { PacketWalker } from "./walk";

export type Failure = { kind: "node"; node: string } | { kind: "link"; a: string; b: string };

export interface PairOutcome {
  from: string;
  to: string;
  /** Node names, both ends included: the request's path under the failure. */
  path: string[];
}

export interface FailureOutcome {
  failure: Failure;
  /** Nodes whose watchdog switched tables. */
  switched: string[];
  /** Ordered pairs of live nodes. */
  pairs: number;
  primary: number;
  rerouted: number;
  lost: number;
  /** Lost pairs between other nodes than the failure's own (a cut link's ends, here): what makes it a single point of failure. */
  lostOthers: number;
  /** The rerouted pairs with their new paths, and the lost pairs (each list cut at `listed`). */
  reroutedPairs: PairOutcome[];
  lostPairs: { from: string; to: string }[];
}

export interface FailureOptions extends MeshModelOptions {
  /** Pairs listed per failure and kind (default 10,000); the counts are always whole. */
  listed?: number;
}

/** Every node, then every link that both of its ends list, in name order. */
export function everySingleFailure(mesh: MeshModel): Failure[] {
  const out: Failure[] = [];
  const names = mesh.nodes.map((x) => x.name).sort();
  for (const node of names) out.push({ kind: "node", node });
  const links = new Set<string>();
  for (const x of mesh.nodes) {
    for (const p of x.peers.values()) {
      const y = p.node;
      if (!y || y === x || !y.peers.has(x.publicKey ?? "")) continue;
      const [a, b] = x.name < y.name ? [x.name, y.name] : [y.name, x.name];
      links.add(`${a}\u0000${b}`);
    }
  }
  for (const id of [...links].sort()) {
    const [a = "", b = ""] = id.split("\u0000");
    out.push({ kind: "link", a, b });
  }
  return out;
}

interface Alternate {
  peer: Int32Array;
  routed: Uint8Array;
}

/** A node's rows once its watchdog has applied one [Lost] entry. */
function alternateRows(mesh: MeshModel, fast: AllPairs, nodeIndex: number, entry: FailoverTable["entries"][number], ips: readonly number[], order: readonly number[]): Alternate {
  const node = mesh.nodes[nodeIndex];
  if (!node) throw new Error(`no node #${nodeIndex}`);
  const moved = new Map(entry.peers.map((p) => [p.publicKey, p.allowedIps]));
  const table = new PrefixTable<PeerState>();
  const routes = new PrefixTable<true>();
  for (const { prefix } of node.routes.entries()) routes.set(prefix, true);
  const prefixesOf = (list: readonly string[]): Prefix[] =>
    list.flatMap((text) => {
      const c = parseCidr(text, true);
      return c && !text.includes(":") ? [prefixOf(c.ip, c.len)] : [];
    });
  // Peers that keep their lists first, moved ones after: the watchdog's `wg set` gives a moved prefix to its new peer.
  for (const peer of node.peers.values()) if (!moved.has(peer.key)) for (const p of peer.prefixes) table.set(p, peer);
  for (const peer of node.peers.values()) {
    const list = moved.get(peer.key);
    if (!list) continue;
    for (const p of prefixesOf(list)) {
      table.set(p, peer);
      routes.set(p, true);
    }
  }
  const n = fast.n;
  const peer = new Int32Array(n).fill(-1);
  const routed = new Uint8Array(n);
  const peers: (PeerState | undefined)[] = new Array(ips.length);
  const hit: (true | undefined)[] = new Array(ips.length);
  table.matchAll(ips, peers);
  routes.matchAll(ips, hit);
  order.forEach((z, i) => {
    const p = peers[i];
    peer[z] = p === undefined ? -1 : p.node ? p.node.index : -2;
    routed[z] = hit[i] ? 1 : 0;
  });
  return { peer, routed };
}

/**
 * `tables`: each node's parsed failover.conf (nodes without one have no watchdog). `failures`:
 * which to walk; every single one when left out.
 */
export function simulateFailures(configs: ConfigSet, tables: ReadonlyMap<string, FailoverTable>, options: FailureOptions & { failures?: readonly Failure[] } = {}): FailureOutcome[] {
  const mesh = buildMeshModel(configs, options);
  const walker = new PacketWalker(mesh);
  const fast = new AllPairs(mesh, walker);
  const n = fast.n;
  const listed = options.listed ?? 10_000;
  const byName = new Map(mesh.nodes.map((x) => [x.name, x.index]));
  const addressed = mesh.nodes.filter((z) => z.address !== undefined).sort((p, q) => (p.address as number) - (q.address as number));
  const ips = addressed.map((z) => z.address as number);
  const order = addressed.map((z) => z.index);

  // Per node, per lost peer's node index, the rows it switches to.
  const alternates = new Map<number, Map<number, Alternate>>();
  for (const [name, table] of tables) {
    const at = byName.get(name);
    if (at === undefined) continue;
    const node = mesh.nodes[at];
    const mine = new Map<number, Alternate>();
    for (const entry of table.entries) {
      const lost = node?.peers.get(entry.lost)?.node;
      if (lost) mine.set(lost.index, alternateRows(mesh, fast, at, entry, ips, order));
    }
    if (mine.size > 0) alternates.set(at, mine);
  }

  // The files' own paths: one trip per ordered pair, every pair of a proven plan reaching.
  const ok = new Uint8Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) if (a !== b && usable(mesh.nodes[a] as NodeModel) && usable(mesh.nodes[b] as NodeModel)) ok[a * n + b] = fast.trip(a, b) ? 1 : 0;
  }
  const reaches = (a: number, b: number): boolean => ok[a * n + b] === 1 && ok[b * n + a] === 1;
  const nextOf = (a: number, b: number): number => fast.peer[a * n + b] as number;

  const failures = options.failures ?? everySingleFailure(mesh);
  if (alternates.size === 0) return countedFailures(mesh, failures, reaches, nextOf, listed);
  const out: FailureOutcome[] = [];
  const trees = destinationTrees(n, nextOf);
  // Pairs the files themselves do not carry are walked under every failure (a proven plan has none).
  const brokenPairs: number[] = [];
  for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) if (a !== b && !reaches(a, b)) brokenPairs.push(a * n + b);
  const mark = new Int32Array(n * n);
  let stamp = 0;
  const name = (i: number): string => mesh.nodes[i]?.name as string;
  for (const failure of failures) {
    const sc: Scenario = { peerRows: new Array(n), routedRows: new Array(n), dead: -1, cutA: -1, cutB: -1 };
    const switched: number[] = [];
    const switchTo = (node: number, lost: number): void => {
      const alt = alternates.get(node)?.get(lost);
      if (!alt) return;
      sc.peerRows[node] = alt.peer;
      sc.routedRows[node] = alt.routed;
      switched.push(node);
    };
    if (failure.kind === "node") {
      const x = byName.get(failure.node);
      if (x === undefined) throw new Error(`no node ${failure.node}`);
      sc.dead = x;
      for (const [node, mine] of alternates) if (node !== x && mine.has(x)) switchTo(node, x);
    } else {
      const a = byName.get(failure.a);
      const b = byName.get(failure.b);
      if (a === undefined || b === undefined) throw new Error(`no link ${failure.a}--${failure.b}`);
      sc.cutA = a;
      sc.cutB = b;
      switchTo(a, b);
      switchTo(b, a);
    }
    // Only a pair whose path (the same both ways in a proven plan) crosses what changed can fare
    // differently: per node that changed and destination it changed for, the sources routed through
    // it to there (its subtree in the destination's tree), and each such pair both ways.
    stamp++;
    const affected: number[] = [];
    const touch = (a: number, b: number): void => {
      if (a === sc.dead || b === sc.dead || a === b) return;
      for (const k of [a * n + b, b * n + a]) {
        if (mark[k] === stamp) continue;
        mark[k] = stamp;
        affected.push(k);
      }
    };
    const through = (v: number, d: number): void => trees.each(v, d, (src) => touch(src, d));
    for (const k of brokenPairs) touch(Math.floor(k / n), k % n);
    if (sc.dead >= 0) for (let d = 0; d < n; d++) if (d !== sc.dead) trees.each(sc.dead, d, (src) => src !== sc.dead && touch(src, d));
    if (sc.cutA >= 0) {
      for (let d = 0; d < n; d++) {
        if (nextOf(sc.cutA, d) === sc.cutB) through(sc.cutA, d);
        if (nextOf(sc.cutB, d) === sc.cutA) through(sc.cutB, d);
      }
    }
    for (const v of switched) {
      const peers = sc.peerRows[v] as Int32Array;
      const routed = sc.routedRows[v] as Uint8Array;
      for (let d = 0; d < n; d++) if (d !== v && (peers[d] !== fast.peer[v * n + d] || routed[d] !== fast.routed[v * n + d])) through(v, d);
    }
    affected.sort((p, q) => (p % n) - (q % n) || p - q);

    const live = sc.dead >= 0 ? n - 1 : n;
    const result: FailureOutcome = { failure, switched: switched.map(name).sort(), pairs: live * (live - 1), primary: 0, rerouted: 0, lost: 0, lostOthers: 0, reroutedPairs: [], lostPairs: [] };
    for (const k of affected) {
      const a = Math.floor(k / n);
      const b = k % n;
      const path: number[] = [];
      const there = tripUnder(fast, a, b, sc, path);
      const back = there && tripUnder(fast, b, a, sc);
      if (!there || !back) {
        result.lost++;
        if (a !== sc.cutA && a !== sc.cutB && b !== sc.cutA && b !== sc.cutB) result.lostOthers++;
        if (result.lostPairs.length < listed) result.lostPairs.push({ from: name(a), to: name(b) });
      } else if (!samePath(path, a, b, nextOf)) {
        result.rerouted++;
        if (result.reroutedPairs.length < listed) result.reroutedPairs.push({ from: name(a), to: name(b), path: path.map(name) });
      }
    }
    result.primary = result.pairs - result.lost - result.rerouted;
    out.push(result);
  }
  return out;
}

/**
 * Every destination's routing tree as the files route it, children listed per node: the sources
 * whose path to d crosses v are v's subtree in d's tree, found without walking every source.
 */
function destinationTrees(n: number, nextOf: (x: number, y: number) => number): { each(v: number, d: number, visit: (src: number) => unknown): void } {
  const start = new Int32Array(n * (n + 1));
  const list = new Int32Array(n * n);
  const fill = new Int32Array(n + 1);
  for (let d = 0; d < n; d++) {
    const base = d * (n + 1);
    fill.fill(0);
    for (let u = 0; u < n; u++) {
      const p = u === d ? -1 : nextOf(u, d);
      if (p >= 0) fill[p + 1]++;
    }
    for (let u = 0; u < n; u++) start[base + u + 1] = (start[base + u] as number) + (fill[u + 1] as number);
    for (let u = 0; u <= n; u++) fill[u] = start[base + u] as number;
    for (let u = 0; u < n; u++) {
      const p = u === d ? -1 : nextOf(u, d);
      if (p >= 0) list[d * n + (fill[p] as number)++] = u;
    }
  }
  const stack: number[] = [];
  return {
    each(v, d, visit) {
      const base = d * (n + 1);
      stack.length = 0;
      stack.push(v);
      while (stack.length > 0) {
        const x = stack.pop() as number;
        visit(x);
        for (let k = start[base + x] as number, end = start[base + x + 1] as number; k < end; k++) stack.push(list[d * n + k] as number);
      }
    },
  };
}

function samePath(path: readonly number[], a: number, b: number, nextOf: (x: number, y: number) => number): boolean {
  let x = a;
  for (let i = 1; i < path.length; i++) {
    x = nextOf(x, b);
    if (x !== path[i]) return false;
  }
  return x === b;
}

/**
 * Without failover tables nothing reroutes: a pair is lost exactly when its path crosses the dead
 * node or the cut link. One walk of every path counts every failure's losses at once.
 */
function countedFailures(mesh: MeshModel, failures: readonly Failure[], reaches: (a: number, b: number) => boolean, nextOf: (x: number, y: number) => number, listed: number): FailureOutcome[] {
  const n = mesh.nodes.length;
  const byName = new Map(mesh.nodes.map((x) => [x.name, x.index]));
  const name = (i: number): string => mesh.nodes[i]?.name as string;
  const lostAt = new Int32Array(n);
  const lostOn = new Map<number, number>();
  const lostOnOthers = new Map<number, number>();
  const examplesAt = new Map<number, { from: string; to: string }[]>();
  const examplesOn = new Map<number, { from: string; to: string }[]>();
  const note = <K>(map: Map<K, { from: string; to: string }[]>, key: K, a: number, b: number): void => {
    const list = map.get(key) ?? [];
    if (list.length < listed) list.push({ from: name(a), to: name(b) });
    map.set(key, list);
  };
  let unreachable = 0;
  const unreachableExamples: { from: string; to: string }[] = [];
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      if (a === b) continue;
      if (!reaches(a, b)) {
        unreachable++;
        if (unreachableExamples.length < listed) unreachableExamples.push({ from: name(a), to: name(b) });
        continue;
      }
      let x = a;
      while (x !== b) {
        const next = nextOf(x, b);
        const edge = Math.min(x, next) * n + Math.max(x, next);
        lostOn.set(edge, (lostOn.get(edge) ?? 0) + 1);
        if (x !== a && next !== b) lostOnOthers.set(edge, (lostOnOthers.get(edge) ?? 0) + 1);
        note(examplesOn, edge, a, b);
        if (next !== b) {
          lostAt[next]++;
          note(examplesAt, next, a, b);
        }
        x = next;
      }
    }
  }
  return failures.map((failure) => {
    const live = failure.kind === "node" ? n - 1 : n;
    const pairs = live * (live - 1);
    let lost: number;
    let others: number;
    let examples: { from: string; to: string }[];
    if (failure.kind === "node") {
      const x = byName.get(failure.node) as number;
      lost = others = lostAt[x] as number;
      examples = examplesAt.get(x) ?? [];
    } else {
      const a = byName.get(failure.a) as number;
      const b = byName.get(failure.b) as number;
      const edge = Math.min(a, b) * n + Math.max(a, b);
      lost = lostOn.get(edge) ?? 0;
      others = lostOnOthers.get(edge) ?? 0;
      examples = examplesOn.get(edge) ?? [];
    }
    // Pairs the files never carried are lost under any failure too (a plan that is proven has none).
    return { failure, switched: [], pairs, primary: pairs - lost - unreachable, rerouted: 0, lost: lost + unreachable, lostOthers: others, reroutedPairs: [], lostPairs: [...examples, ...unreachableExamples].slice(0, listed) };
  });
}
