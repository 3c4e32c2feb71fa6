/**
 * Root causes of unreachable pairs, for `wgmesh lint`: the AllowedIPs a config lacks, gathered over
 * every node with the same defect, each with the change that mends it and the pairs it explains.
 * Hand-written meshes fail mostly this way (the seed's 62 pairs are three such defects), and a line
 * per node and reason ("dropped at ...", 17 of them for the seed) hides that they are three.
 *
 * Two drops are read: "no route to X" at a node (its config has no AllowedIPs covering X; the fix
 * goes on the peer that would carry X: a peer that forwards and knows X, nearest to X's addresses)
 * and "source S is outside AllowedIPs of peer P" at a receiving node (the fix goes on its [Peer] P).
 * What is missing is named by its owner's subnet (from the owner's Address) when every other node of
 * that subnet is missing too and the node itself is not inside it, otherwise address by address.
 * Every other drop stays a group line as before. The fixes are data as well, so a test can apply them
 * and simulate again.
 */
import { containsIp, formatIPv4, formatPrefix, parseCidr, parseIPv4, prefixOf, type Prefix } from "../cidr";
import type { WgQuickConfig } from "../model";
import type { ConfigSet } from "./mesh-model";
import type { SimNode, SimulationReport } from "./types";

/** One change to one config: add these prefixes to the AllowedIPs of its [Peer] for `peer`. */
export interface AllowedIpsFix {
  node: string;
  peer: string;
  add: string[];
}

export interface RootCause {
  kind: "no-route" | "source-outside-allowed-ips";
  /** The nodes whose configs hold the defect. */
  nodes: string[];
  /** The [Peer] (by node name) whose AllowedIPs lack the prefixes. */
  peer: string;
  /** What is wrong, naming the nodes and what they lack. */
  summary: string;
  /** What to change, in words. */
  fix: string;
  fixes: AllowedIpsFix[];
  /** The ordered pairs it explains (each in exactly one cause). */
  pairs: { from: string; to: string }[];
}

// Only the drops whose whole story is a missing AllowedIPs entry: not a route kept out by `Table =`,
// not a source that belongs to another peer (adding it here would move that peer's route too).
const NO_ROUTE = /^no route to (\d+\.\d+\.\d+\.\d+): no AllowedIPs or Address prefix on its wg0 covers it$/;
const SOURCE_OUTSIDE = /^source (\d+\.\d+\.\d+\.\d+) is outside AllowedIPs of peer ([^\s,;:()]+)$/;

interface Defect {
  kind: RootCause["kind"];
  node: string;
  peer: string;
  ip: number;
  pair: { from: string; to: string };
}

function entries(configs: ConfigSet): [string, WgQuickConfig][] {
  return configs instanceof Map ? [...configs.entries()] : Object.entries(configs as Readonly<Record<string, WgQuickConfig>>);
}

/**
 * Each node's subnet: its Address's prefix when it has one; for a bare Address, the narrowest
 * AllowedIPs prefix any config routes that covers it (the author's own plan), or else its /24 when
 * other nodes' Addresses share it (the usual numbering of hand-written meshes); else the address.
 */
function nodeSubnets(configs: ConfigSet): Map<string, Prefix> {
  const addresses = new Map<string, { ip: number; len: number }>();
  const routed: Prefix[] = [];
  for (const [name, cfg] of entries(configs)) {
    const first = cfg.iface.addresses.map((a) => parseCidr(a.trim(), true)).find((c) => c !== undefined);
    if (first) addresses.set(name, first);
    for (const peer of cfg.peers) for (const a of peer.allowedIps) {
      const c = parseCidr(a.trim(), true);
      if (c && c.len < 32 && c.len >= 8) routed.push(prefixOf(c.ip, c.len));
    }
  }
  const out = new Map<string, Prefix>();
  for (const [name, { ip, len }] of addresses) {
    if (len < 32) {
      out.set(name, prefixOf(ip, len));
      continue;
    }
    const narrowest = routed.filter((r) => containsIp(r, ip)).sort((a, b) => b.len - a.len)[0];
    const slash24 = prefixOf(ip, 24);
    const siblings = [...addresses.values()].filter((a) => a.ip !== ip && containsIp(slash24, a.ip)).length;
    out.set(name, narrowest ?? (siblings > 0 ? slash24 : prefixOf(ip, 32)));
  }
  return out;
}

function commonPrefixBits(a: number, b: number): number {
  let bits = 0;
  for (let i = 31; i >= 0 && ((a >>> i) & 1) === ((b >>> i) & 1); i--) bits++;
  return bits;
}

/** The peer of `node` that should carry `ip`: one that forwards (or is the owner) and has a route to it, nearest to it by its AllowedIPs. */
function carrierFor(node: SimNode, ip: number, byName: ReadonlyMap<string, SimNode>): string | undefined {
  let best: { name: string; score: number } | undefined;
  for (const peer of node.peers) {
    const other = peer.node ? byName.get(peer.node) : undefined;
    if (!other) continue;
    const owns = other.address !== undefined && parseIPv4(other.address) === ip;
    const knows = other.peers.some((p) => p.allowedIps.some((a) => {
      const c = parseCidr(a, true);
      return c !== undefined && containsIp(prefixOf(c.ip, c.len), ip);
    }));
    if (!owns && !(other.forwarding && knows)) continue;
    const nearness = Math.max(0, ...peer.allowedIps.map((a) => parseCidr(a, true)).filter((c) => c !== undefined).map((c) => Math.min(c.len, commonPrefixBits(c.ip, ip))));
    const score = (owns ? 100 : 0) + nearness;
    if (!best || score > best.score) best = { name: other.name, score };
  }
  return best?.name;
}

/** The prefixes a node must add so that it holds every one of `ips`: whole subnets where it may, else addresses. */
function prefixesFor(node: string, ips: readonly number[], subnets: ReadonlyMap<string, Prefix>, owners: ReadonlyMap<number, string>): { add: string[]; named: string[] } {
  const own = subnets.get(node);
  const bySubnet = new Map<string, { subnet: Prefix; ips: number[] }>();
  for (const ip of ips) {
    const owner = owners.get(ip);
    const subnet = owner ? subnets.get(owner) : undefined;
    const s = subnet && subnet.len < 32 ? subnet : prefixOf(ip, 32);
    const key = formatPrefix(s);
    const slot = bySubnet.get(key) ?? { subnet: s, ips: [] };
    slot.ips.push(ip);
    bySubnet.set(key, slot);
  }
  const add: string[] = [];
  const named: string[] = [];
  for (const [key, { subnet, ips: inside }] of [...bySubnet.entries()].sort((a, b) => a[1].subnet.base - b[1].subnet.base)) {
    const members = [...owners.entries()].filter(([ip, owner]) => owner !== node && containsIp(subnet, ip)).map(([ip]) => ip);
    const whole = subnet.len < 32 && members.every((ip) => inside.includes(ip)) && !(own && containsIp(subnet, own.base));
    if (whole) add.push(key);
    else add.push(...[...new Set(inside)].sort((a, b) => a - b).map((ip) => `${formatIPv4(ip)}/32`));
    named.push(whole ? key : subnet.len < 32 ? `the other nodes of ${key}` : key);
  }
  return { add, named };
}

const PAIRS_SHOWN = 8;
const NODES_SHOWN = 12;

function list(items: readonly string[], shown: number): string {
  return items.slice(0, shown).join(", ") + (items.length > shown ? ` and ${items.length - shown} more` : "");
}

/**
 * The root causes the simulation's drops add up to, and which unreachable pairs they leave
 * unexplained (those keep their group lines).
 */
export function rootCauses(simulation: SimulationReport, configs: ConfigSet): { causes: RootCause[]; explained: ReadonlySet<string> } {
  const byName = new Map(simulation.nodes.map((n) => [n.name, n]));
  const subnets = nodeSubnets(configs);
  const owners = new Map<number, string>();
  for (const n of simulation.nodes) {
    const ip = n.address === undefined ? undefined : parseIPv4(n.address);
    if (ip !== undefined) owners.set(ip, n.name);
  }
  const defects: Defect[] = [];
  for (const p of simulation.pairs) {
    if (p.reachable || !p.failure) continue;
    const at = byName.get(p.failure.at);
    if (!at) continue;
    const noRoute = NO_ROUTE.exec(p.failure.reason);
    const outside = SOURCE_OUTSIDE.exec(p.failure.reason);
    if (noRoute) {
      const ip = parseIPv4(noRoute[1] as string) as number;
      const peer = carrierFor(at, ip, byName);
      if (peer) defects.push({ kind: "no-route", node: at.name, peer, ip, pair: { from: p.from, to: p.to } });
    } else if (outside && byName.has(outside[2] as string)) {
      defects.push({ kind: "source-outside-allowed-ips", node: at.name, peer: outside[2] as string, ip: parseIPv4(outside[1] as string) as number, pair: { from: p.from, to: p.to } });
    }
  }

  // One cause per kind, peer to change and set of subnets lacked, over every node that has it.
  const perNode = new Map<string, Defect[]>();
  for (const d of defects) {
    const key = `${d.kind}\u0000${d.node}\u0000${d.peer}`;
    perNode.set(key, [...(perNode.get(key) ?? []), d]);
  }
  const groups = new Map<string, { kind: RootCause["kind"]; peer: string; named: string[]; nodes: { node: string; add: string[] }[]; pairs: { from: string; to: string }[] }>();
  for (const ds of perNode.values()) {
    const first = ds[0] as Defect;
    const { add, named } = prefixesFor(first.node, [...new Set(ds.map((d) => d.ip))], subnets, owners);
    const key = `${first.kind}\u0000${first.peer}\u0000${named.join(",")}`;
    const g = groups.get(key) ?? { kind: first.kind, peer: first.peer, named, nodes: [], pairs: [] };
    g.nodes.push({ node: first.node, add });
    g.pairs.push(...ds.map((d) => d.pair));
    groups.set(key, g);
  }

  const causes = [...groups.values()].map((g): RootCause => {
    const nodes = g.nodes.map((n) => n.node);
    const sameFix = g.nodes.every((n) => n.add.join() === g.nodes[0]?.add.join());
    const what = g.named.join(", ");
    const summary =
      g.kind === "no-route"
        ? `${list(nodes, NODES_SHOWN)} ${nodes.length === 1 ? "has" : "have"} no route to ${what}: no AllowedIPs covers ${g.named.length === 1 && !what.startsWith("the other") ? "it" : "them"}`
        : `${list(nodes, NODES_SHOWN)} ${nodes.length === 1 ? "drops" : "drop"} packets from ${what} arriving through ${g.peer}: the [Peer] ${g.peer} AllowedIPs do not include these sources`;
    const where = `the AllowedIPs of [Peer] ${g.peer}${g.kind === "no-route" ? ` (${g.peer} forwards to them)` : ""}`;
    const fix = sameFix
      ? `${nodes.length > 1 ? `in each of these ${nodes.length} configs, ` : ""}add ${(g.nodes[0]?.add ?? []).join(", ")} to ${where}`
      : `add to ${where}: ${g.nodes.map((n) => `on ${n.node} ${n.add.join(", ")}`).join("; ")}`;
    return { kind: g.kind, nodes, peer: g.peer, summary, fix, fixes: g.nodes.map((n) => ({ node: n.node, peer: g.peer, add: n.add })), pairs: g.pairs };
  });
  const explained = new Set(causes.flatMap((c) => c.pairs.map((p) => `${p.from}\u0000${p.to}`)));
  return { causes, explained };
}

/** A cause as lint prints it: what is wrong with the pairs it explains, then the fix, indented. */
export function rootCauseLines(c: RootCause, index: number, of: number): string[] {
  const n = c.pairs.length;
  const shown = c.pairs.slice(0, PAIRS_SHOWN).map((p) => `${p.from} -> ${p.to}`);
  return [`cause ${index + 1} of ${of}: ${c.summary} (${n} ordered pair${n === 1 ? "" : "s"}: ${shown.join(", ")}${n > PAIRS_SHOWN ? ` and ${n - PAIRS_SHOWN} more` : ""})`, `  fix: ${c.fix}`];
}
