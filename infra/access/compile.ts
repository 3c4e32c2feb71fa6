/**
 * A policy compiled into each node's filter: what the node accepts from its tunnel for itself
 * (input), and on a node that forwards, what it passes between others (forward). Every chain
 * starts with the mesh's own allowances (replies, ICMP echo as `access.echo` says, always between
 * direct neighbours) and ends in a drop, so what no rule allows stops at the first node that
 * receives it: the destination, or the first node forwarding it. The same rules in the same order
 * hold everywhere, so every node of a path judges a flow alike.
 *
 * Nodes are matched by overlay source and destination address. WireGuard admits a packet from a
 * peer only with a source inside that peer's AllowedIPs, and a node that forwards for no one holds
 * only its own address among the nodes' ones, so a source address is the node it names (or a node
 * forwarding for it). Groups become the fewest prefixes that hold every member's address and no
 * other node's: readable, and short however large the group.
 */
import { containsIp, formatIPv4, parseIPv4, parsePrefix, type Prefix } from "../cidr";
import type { MeshPlan, PlannedNode } from "../model";
import { GroupBook } from "./groups";
import { AccessEcho, ruleNumber, type AccessSpec, type NodeFacts } from "./model";
import { Policy } from "./policy";
import { setOf, type ServiceSet } from "./services";

/** wg-quick's interface name on every node. */
export const MESH_INTERFACE = "wg0";

export interface CompiledRule {
  /** "echo", "echo-neighbours", or the rule's number ("3"): what counters and verdicts name. */
  id: string;
  /** Source prefixes. */
  from: Prefix[];
  /** Destination prefixes (forward chain only); absent: the node itself. */
  to?: Prefix[];
  services: ServiceSet;
}

export interface NodeRuleset {
  node: string;
  /** The tunnel interface the filter applies to. */
  iface: string;
  input: CompiledRule[];
  /** Only on nodes that forward others' packets. */
  forward?: CompiledRule[];
}

export interface CompiledAccess {
  spec: AccessSpec;
  policy: Policy;
  /** Per node, in plan order. */
  rulesets: Map<string, NodeRuleset>;
}

export function nodeFactsOf(plan: MeshPlan): NodeFacts[] {
  return plan.nodes.map((n) => ({ name: n.name, role: n.role, region: n.region, area: n.area, cloud: n.cloud, site: n.site }));
}

/**
 * The fewest prefixes inside `roots` that hold every address of `members` and no address of
 * `others`: split a root in halves until each half holds members only (emitted) or none.
 */
export function coveringPrefixes(members: readonly number[], others: readonly number[], roots: readonly Prefix[]): Prefix[] {
  const all = [...members.map((ip) => [ip >>> 0, 1] as const), ...others.map((ip) => [ip >>> 0, 0] as const)].sort((a, b) => a[0] - b[0]);
  const out: Prefix[] = [];
  const placed = new Set<number>();
  const walk = (p: Prefix, lo: number, hi: number): void => {
    // all[lo..hi) are the addresses inside p
    if (lo >= hi) return;
    let inside = 0;
    for (let i = lo; i < hi; i++) inside += (all[i] as readonly [number, number])[1];
    if (inside === 0) return;
    if (inside === hi - lo) {
      out.push(p);
      for (let i = lo; i < hi; i++) placed.add((all[i] as readonly [number, number])[0]);
      return;
    }
    const len = p.len + 1;
    const half = (p.base + 2 ** (32 - len)) >>> 0;
    let mid = lo;
    while (mid < hi && (all[mid] as readonly [number, number])[0] < half) mid++;
    walk({ base: p.base, len }, lo, mid);
    walk({ base: half, len }, mid, hi);
  };
  for (const root of roots) {
    const lo = all.findIndex(([ip]) => containsIp(root, ip));
    if (lo < 0) continue;
    let hi = lo;
    while (hi < all.length && containsIp(root, (all[hi] as readonly [number, number])[0])) hi++;
    walk(root, lo, hi);
  }
  // Members outside every root (nodes of another stack's address plan) as single addresses.
  for (const ip of members) if (!placed.has(ip >>> 0)) out.push({ base: ip >>> 0, len: 32 });
  return out.sort((a, b) => a.base - b.base);
}

class AddressBook {
  private readonly ip = new Map<string, number>();
  readonly roots: Prefix[];

  constructor(plan: MeshPlan) {
    for (const n of plan.nodes) this.ip.set(n.name, parseIPv4(n.address) as number);
    this.roots = [parsePrefix(plan.spec.overlay) as Prefix];
  }

  addressOf(name: string): number {
    return this.ip.get(name) as number;
  }

  prefixes(members: Iterable<string>): Prefix[] {
    const inside = new Set(members);
    const mine: number[] = [];
    const theirs: number[] = [];
    for (const [name, ip] of this.ip) (inside.has(name) ? mine : theirs).push(ip);
    return coveringPrefixes(mine, theirs, this.roots);
  }
}

export interface CompileOptions {
  /** The tunnel interface name (the lab gives each node its own); default wg0. */
  iface?: (node: string) => string;
  /** Nodes that get a forward chain; default the plan's transit nodes. */
  forwarders?: ReadonlySet<string>;
}

const ECHO = setOf([{ kind: "icmp" }]);

/** Every node's ruleset for a plan whose spec declares access; undefined for a flat mesh. */
export function compileAccess(plan: MeshPlan, options: CompileOptions = {}): CompiledAccess | undefined {
  const spec = plan.spec.access;
  if (!spec) return undefined;
  const book = new GroupBook(spec, nodeFactsOf(plan));
  const policy = new Policy(spec, book);
  const addresses = new AddressBook(plan);
  const everyNode = addresses.prefixes(plan.nodes.map((n) => n.name));
  const ruleFrom = policy.rules.map((r) => addresses.prefixes(r.from));
  const ruleTo = policy.rules.map((r) => addresses.prefixes(r.to));
  const rulesets = new Map<string, NodeRuleset>();
  for (const node of plan.nodes) {
    rulesets.set(node.name, nodeRuleset(node, spec, policy, addresses, everyNode, ruleFrom, ruleTo, options));
  }
  return { spec, policy, rulesets };
}

function nodeRuleset(
  node: PlannedNode,
  spec: AccessSpec,
  policy: Policy,
  addresses: AddressBook,
  everyNode: Prefix[],
  ruleFrom: Prefix[][],
  ruleTo: Prefix[][],
  options: CompileOptions,
): NodeRuleset {
  const input: CompiledRule[] = [];
  if (spec.echo === AccessEcho.All) input.push({ id: "echo", from: everyNode, services: ECHO });
  else if (node.peers.length > 0) input.push({ id: "echo-neighbours", from: addresses.prefixes(node.peers.map((p) => p.name)), services: ECHO });
  policy.rules.forEach((r, i) => {
    if (!r.to.has(node.name) || ![...r.from].some((n) => n !== node.name)) return;
    input.push({ id: String(ruleNumber(r.rule)), from: ruleFrom[i] as Prefix[], services: r.services });
  });
  const forwards = options.forwarders ? options.forwarders.has(node.name) : node.forwarding;
  let forward: CompiledRule[] | undefined;
  if (forwards) {
    forward = [];
    if (spec.echo === AccessEcho.All) forward.push({ id: "echo", from: everyNode, to: everyNode, services: ECHO });
    policy.rules.forEach((r, i) => {
      forward?.push({ id: String(ruleNumber(r.rule)), from: ruleFrom[i] as Prefix[], to: ruleTo[i] as Prefix[], services: r.services });
    });
  }
  return { node: node.name, iface: options.iface?.(node.name) ?? MESH_INTERFACE, input, ...(forward ? { forward } : {}) };
}

export function formatPrefixList(prefixes: readonly Prefix[]): string[] {
  return prefixes.map((p) => (p.len === 32 ? formatIPv4(p.base) : `${formatIPv4(p.base)}/${p.len}`));
}
