/**
 * The simulator: every ordered pair pings, as `ping` would on the real mesh. A pair is
 * reachable when the echo request gets from a to b and the reply gets back from b to a.
 * It reads wg-quick configs, not a plan, so it can judge configs anyone wrote.
 */
import { formatIPv4 } from "../cidr";
import { findingsOrder } from "./order";
import { mtuFindings, staticFindings } from "./findings";
import { buildMeshModel, type ConfigSet, type MeshModel, type NodeModel } from "./mesh-model";
import type { Direction, Finding, PairResult, SimNode, SimulationReport } from "./types";
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

function pairResult(walker: PacketWalker, a: NodeModel, b: NodeModel): PairResult {
  const blockedA = unusable(a);
  if (blockedA) return failed(a, b, "forward", { at: a, reason: blockedA }, [a.name], []);
  const blockedB = unusable(b);
  if (blockedB) return failed(a, b, "forward", { at: b, reason: blockedB }, [a.name], []);
  const src = a.address as number;
  const dst = b.address as number;
  const request = walker.walk(a, b, src, dst, () => `${a.name} -> ${b.name}`);
  if (request.drop) return failed(a, b, "forward", request.drop, request.path, []);
  const reply = walker.walk(b, a, dst, src, () => `${b.name} -> ${a.name} (reply)`);
  if (reply.drop) return failed(a, b, "reply", reply.drop, request.path, reply.path);
  const large = walker.largePacket(request.path);
  const largePacket = large.drop ? { size: large.size, reachable: false, at: large.drop.at.name, reason: large.drop.reason } : { size: large.size, reachable: true };
  return { from: a.name, to: b.name, reachable: true, path: request.path, returnPath: reply.path, largePacket };
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

export interface SimulateOptions {
  /** Nodes that cannot come up, with why (their file does not parse): every pair with them fails. */
  down?: ReadonlyMap<string, string>;
}

export function simulate(configs: ConfigSet, options: SimulateOptions = {}): SimulationReport {
  const mesh = buildMeshModel(configs, options.down);
  const walker = new PacketWalker(mesh);
  const pairs: PairResult[] = [];
  let reachable = 0;
  for (const a of mesh.nodes) {
    for (const b of mesh.nodes) {
      if (a === b) continue;
      const result = pairResult(walker, a, b);
      if (result.reachable) reachable++;
      pairs.push(result);
    }
  }
  const findings = findingsOrder([...mesh.findings, ...staticFindings(mesh), ...forwardingFindings(walker), ...mtuFindings(mesh, pairs)]);
  const n = mesh.nodes.length;
  return { nodes: describeNodes(mesh), pairs, reachable, total: n * (n - 1), findings };
}
