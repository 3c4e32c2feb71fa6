/**
 * The simulator: every ordered pair pings, as `ping` would on the real mesh. A pair is
 * reachable when the echo request gets from a to b and the reply gets back from b to a.
 * It reads wg-quick configs, not a plan, so it can judge configs anyone wrote.
 */
import { formatIPv4 } from "../cidr";
import { findingsOrder } from "./order";
import { mtuFindings, staticFindings } from "./findings";
import { AllPairs } from "./all-pairs";
import { buildMeshModel, type ConfigSet, type MeshModel, type MeshModelOptions, type NodeModel } from "./mesh-model";
import type { Direction, Finding, LargePacket, PairResult, SimNode, SimulationReport, SimulationSummary } from "./types";
import { PacketWalker, type Drop } from "./walk";

/** A node that cannot take part at all: no identity or no address. */
function unusable(node: NodeModel): string | undefined {
  if (node.down) return `${node.name} is not up: ${node.down}`;
  if (node.keyProblem) return `${node.name} cannot handshake: ${node.keyProblem}`;
  if (node.address === undefined) return `${node.name} has no IPv4 Address`;
  return undefined;
}

function failed(a: NodeModel, b: NodeModel, direction: Direction, drop: Drop, path: string[], returnPath: string[]): PairResult {
  return { from: a.name, to: b.name, reachable: false, path, returnPath, failure: { direction, at: drop.at.name, reason: drop.reason } };
}

function pairResult(walker: PacketWalker, fast: AllPairs, a: NodeModel, b: NodeModel): PairResult {
  const blockedA = unusable(a);
  if (blockedA) return failed(a, b, "forward", { at: a, reason: blockedA }, [a.name], []);
  const blockedB = unusable(b);
  if (blockedB) return failed(a, b, "forward", { at: b, reason: blockedB }, [a.name], []);
  if (fast.covers(a.index, b.index)) {
    const there: number[] = [];
    const back: number[] = [];
    if (fast.trip(a.index, b.index, there) && fast.trip(b.index, a.index, back)) {
      const path = there.map((i) => nameOf(walker, i));
      return { from: a.name, to: b.name, reachable: true, path, returnPath: back.map((i) => nameOf(walker, i)), largePacket: largePacketOf(walker, path) };
    }
  }
  // Lost somewhere: PacketWalker says where and why, and notes forwarding it found off.
  const src = a.address as number;
  const dst = b.address as number;
  const request = walker.walk(a, b, src, dst, () => `${a.name} -> ${b.name}`);
  if (request.drop) return failed(a, b, "forward", request.drop, request.path, []);
  const reply = walker.walk(b, a, dst, src, () => `${b.name} -> ${a.name} (reply)`);
  if (reply.drop) return failed(a, b, "reply", reply.drop, request.path, reply.path);
  return { from: a.name, to: b.name, reachable: true, path: request.path, returnPath: reply.path, largePacket: largePacketOf(walker, request.path) };
}

/** Whether a packet of the sender's full MTU, with DF set, survives the path. */
function largePacketOf(walker: PacketWalker, path: readonly string[]): LargePacket {
  const large = walker.largePacket(path);
  return large.drop ? { size: large.size, reachable: false, at: large.drop.at.name, reason: large.drop.reason } : { size: large.size, reachable: true };
}

function forwardingFindings(walker: PacketWalker): Finding[] {
  return [...walker.forwardingMisses.values()].map((miss) => ({
    severity: "error" as const,
    kind: "forwarding-off" as const,
    subject: miss.node.name,
    nodes: [miss.node.name],
    message: `packets of other nodes must cross it (e.g. ${miss.example}${miss.packets > 1 ? `, ${miss.packets} packets in all` : ""}) but forwarding is off; add PostUp = sysctl -w net.ipv4.ip_forward=1`,
  }));
}

function describeNodes(mesh: MeshModel): SimNode[] {
  return mesh.nodes.map((node) => ({
    name: node.name,
    ...(node.publicKey !== undefined ? { publicKey: node.publicKey } : {}),
    ...(node.address !== undefined ? { address: formatIPv4(node.address) } : {}),
    forwarding: node.forwarding,
    peers: [...node.peers.values()].map((p) => ({
      publicKey: p.key,
      ...(p.node ? { node: p.node.name } : {}),
      allowedIps: p.prefixes.map((x) => `${formatIPv4(x.base)}/${x.len}`),
      ...(p.endpoint !== undefined ? { endpoint: p.endpoint } : {}),
    })),
  }));
}

function nameOf(walker: PacketWalker, index: number): string {
  return (walker.mesh.nodes[index] as NodeModel).name;
}

export type SimulateOptions = MeshModelOptions;

/** Every ordered pair with its paths: for meshes whose pairs fit in memory (lint, tests, small plans). */
export function simulate(configs: ConfigSet, options: SimulateOptions = {}): SimulationReport {
  const mesh = buildMeshModel(configs, options);
  const walker = new PacketWalker(mesh);
  const fast = new AllPairs(mesh, walker);
  const pairs: PairResult[] = [];
  let reachable = 0;
  for (const a of mesh.nodes) {
    for (const b of mesh.nodes) {
      if (a === b) continue;
      const result = pairResult(walker, fast, a, b);
      if (result.reachable) reachable++;
      pairs.push(result);
    }
  }
  const findings = findingsOrder([...mesh.findings, ...staticFindings(mesh), ...forwardingFindings(walker), ...mtuFindings(mesh, pairs)]);
  const n = mesh.nodes.length;
  return { nodes: describeNodes(mesh), pairs, reachable, total: n * (n - 1), findings };
}

export interface SummaryOptions extends SimulateOptions {
  /** Unreachable pairs reported with where and why (default 1000); the rest are counted. */
  maxFailures?: number;
  /** Called for every ordered pair in node order as it is decided, with its paths (and failure), like simulate's pairs. */
  onPair?: (pair: PairResult) => void;
}

/**
 * Every ordered pair, keeping only counts and the unreachable ones: what a plan of thousands of
 * nodes needs. Each one-way trip is decided once (a pair is reachable when the request gets
 * there and the reply, which is the other pair's request, gets back).
 */
export function simulateSummary(configs: ConfigSet, options: SummaryOptions = {}): SimulationSummary {
  const mesh = buildMeshModel(configs, options);
  const walker = new PacketWalker(mesh);
  const fast = new AllPairs(mesh, walker);
  const nodes = mesh.nodes;
  const n = nodes.length;
  const maxFailures = options.maxFailures ?? 1000;
  // oneWay[a * n + b]: 1 when a's packet reaches b, 0 when not, 2 when PacketWalker has to decide the pair.
  const oneWay = new Uint8Array(n * n);
  for (const a of nodes) {
    for (const b of nodes) {
      if (a === b) continue;
      oneWay[a.index * n + b.index] = !unusable(a) && !unusable(b) && fast.covers(a.index, b.index) ? (fast.trip(a.index, b.index) ? 1 : 0) : 2;
    }
  }
  const failures: PairResult[] = [];
  // Where MTUs differ, full-size packets are followed pair by pair (as simulate does) for the MTU findings.
  const mixedMtu = new Set(nodes.map((x) => x.mtu)).size > 1;
  const largeLost: PairResult[] = [];
  let reachable = 0;
  let failuresOmitted = 0;
  for (const a of nodes) {
    for (const b of nodes) {
      if (a === b) continue;
      const there = oneWay[a.index * n + b.index];
      const back = oneWay[b.index * n + a.index];
      let ok = there === 1 && back === 1;
      let result: PairResult | undefined;
      if (!ok && (failures.length < maxFailures || there === 2 || back === 2)) {
        result = pairResult(walker, fast, a, b);
        ok = result.reachable;
        if (!ok && failures.length < maxFailures) failures.push(result);
        else if (!ok) failuresOmitted++;
      } else if (!ok) failuresOmitted++;
      if (ok) reachable++;
      if (ok && (mixedMtu || options.onPair)) result ??= pairResult(walker, fast, a, b);
      if (result?.largePacket && !result.largePacket.reachable) largeLost.push(result);
      if (options.onPair) options.onPair(result ?? { from: a.name, to: b.name, reachable: false, path: [], returnPath: [] });
    }
  }
  const findings = findingsOrder([...mesh.findings, ...staticFindings(mesh), ...forwardingFindings(walker), ...mtuFindings(mesh, largeLost)]);
  return { nodes: n, reachable, total: n * (n - 1), failures, failuresOmitted, findings };
}
