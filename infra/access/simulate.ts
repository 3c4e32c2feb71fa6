/**
 * The filters in the simulator. A flow from a to b takes the path the WireGuard simulator found for
 * its pair; every node after a judges it with its own ruleset: the destination with its input chain,
 * a node in between with its forward chain (a node without a ruleset, or without a forward chain,
 * passes everything, as a node without the table does). What passes is the intersection of what
 * each judge allows; a flow is dropped at the first judge that does not allow it, by its final drop
 * rule, and allowed by the first rule of the destination's input chain that matches it.
 *
 * Replies pass as conntrack's established traffic on the nodes that saw the request. A node on the
 * reply's path that was not on the request's (asymmetric paths, which wg-mesh's plans never have)
 * holds no state for it and judges the reply as a new packet: it passes only a rule allowing the
 * whole protocol from b to a.
 */
import { containsIp, parseIPv4, type Prefix } from "../cidr";
import type { CompiledRule, NodeRuleset } from "./compile";
import { allows, emptySet, everything, formatProbe, intersect, union, type Probe, type ServiceSet } from "./services";

export type ChainName = "input" | "forward";

/** The parts of a simulated pair the filters need (the WireGuard simulator's PairResult has them). */
export interface PathOfPair {
  from: string;
  to: string;
  reachable: boolean;
  path: readonly string[];
  returnPath: readonly string[];
}

export interface FlowVerdict {
  allowed: boolean;
  probe: Probe;
  /** Allowed: the rule that accepted it at the destination ("none": no filter there); denied: "drop" (or "unreachable"). */
  rule: string;
  /** Denied: the node that drops it, in which chain, and why. */
  at?: string;
  chain?: ChainName;
  reason?: string;
}

interface Judge {
  node: string;
  chain: ChainName;
}

/** Distinct service sets by id, and their intersections remembered: a mesh has few distinct ones. */
class SetTable {
  readonly sets: ServiceSet[] = [];
  private readonly ids = new Map<string, number>();
  private readonly meets = new Map<number, number>();
  readonly empty: number;
  readonly all: number;

  constructor() {
    this.empty = this.intern(emptySet());
    this.all = this.intern(everything());
  }

  intern(s: ServiceSet): number {
    const key = JSON.stringify(s);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.sets.length;
      this.sets.push(s);
      this.ids.set(key, id);
    }
    return id;
  }

  meet(a: number, b: number): number {
    if (a === b || b === this.all) return a;
    if (a === this.all) return b;
    const key = a < b ? a * 1_048_576 + b : b * 1_048_576 + a;
    let id = this.meets.get(key);
    if (id === undefined) {
      id = this.intern(intersect(this.sets[a] as ServiceSet, this.sets[b] as ServiceSet));
      this.meets.set(key, id);
    }
    return id;
  }
}

/**
 * One chain, ready to judge any pair fast: per node index, which of its rules name it as a source
 * and as a destination, as bit words (31 rules a word); the rules a pair matches are the two ANDed.
 */
class ChainIndex {
  private readonly words: number;
  private readonly fromBits: Int32Array;
  private readonly toBits: Int32Array;
  private readonly byKey = new Map<string | number, number>();

  constructor(
    readonly rules: readonly CompiledRule[],
    nodes: number,
    member: (prefixes: readonly Prefix[] | undefined) => Uint8Array,
  ) {
    this.words = Math.max(1, Math.ceil(rules.length / 31));
    this.fromBits = new Int32Array(nodes * this.words);
    this.toBits = new Int32Array(nodes * this.words);
    rules.forEach((r, i) => {
      const word = Math.floor(i / 31);
      const bit = 1 << i % 31;
      const from = member(r.from);
      const to = member(r.to);
      for (let n = 0; n < nodes; n++) {
        if (from[n]) (this.fromBits[n * this.words + word] as number) |= bit;
        if (to[n]) (this.toBits[n * this.words + word] as number) |= bit;
      }
    });
  }

  /** Indices of the rules matching src -> dst, in order. */
  matching(src: number, dst: number): number[] {
    const out: number[] = [];
    for (let w = 0; w < this.words; w++) {
      const bits = (this.fromBits[src * this.words + w] as number) & (this.toBits[dst * this.words + w] as number);
      for (let b = 0; b < 31 && bits >>> b !== 0; b++) if (bits & (1 << b)) out.push(w * 31 + b);
    }
    return out;
  }

  /** The id of what the matching rules allow together. */
  setId(src: number, dst: number, table: SetTable): number {
    let key: string | number;
    if (this.words === 1) key = (this.fromBits[src] as number) & (this.toBits[dst] as number);
    else {
      const parts: number[] = [];
      for (let w = 0; w < this.words; w++) parts.push((this.fromBits[src * this.words + w] as number) & (this.toBits[dst * this.words + w] as number));
      key = parts.join(",");
    }
    let id = this.byKey.get(key);
    if (id === undefined) {
      id = table.intern(this.matching(src, dst).reduce((acc, i) => union(acc, (this.rules[i] as CompiledRule).services), emptySet()));
      this.byKey.set(key, id);
    }
    return id;
  }
}

export class FilterModel {
  private readonly index = new Map<string, number>();
  private readonly addresses: number[] = [];
  private readonly chains = new Map<string, ChainIndex>();
  private readonly members = new WeakMap<readonly Prefix[], Uint8Array>();
  private readonly everyNode: Uint8Array;
  readonly table = new SetTable();

  /**
   * `rulesets`: what each node runs (a node absent or undefined runs none); `addresses`: every
   * node's overlay address.
   */
  constructor(
    private readonly rulesets: ReadonlyMap<string, NodeRuleset | undefined>,
    addresses: ReadonlyMap<string, string>,
  ) {
    for (const [name, a] of addresses) {
      this.index.set(name, this.addresses.length);
      this.addresses.push(parseIPv4(a) as number);
    }
    this.everyNode = new Uint8Array(this.addresses.length).fill(1);
  }

  /** Which nodes' addresses the prefixes hold (every node for none: a chain's own destination). */
  private member = (prefixes: readonly Prefix[] | undefined): Uint8Array => {
    if (prefixes === undefined) return this.everyNode;
    let m = this.members.get(prefixes);
    if (!m) {
      m = new Uint8Array(this.addresses.length);
      for (let i = 0; i < this.addresses.length; i++) m[i] = prefixes.some((p) => containsIp(p, this.addresses[i] as number)) ? 1 : 0;
      this.members.set(prefixes, m);
    }
    return m;
  };

  private chain(node: string, chain: ChainName): ChainIndex | undefined {
    const key = `${node}\u0000${chain}`;
    let c = this.chains.get(key);
    if (!c) {
      const r = this.rulesets.get(node);
      const rules = chain === "input" ? r?.input : r?.forward;
      if (!rules) return undefined;
      c = new ChainIndex(rules, this.addresses.length, this.member);
      this.chains.set(key, c);
    }
    return c;
  }

  private idOf(node: string): number {
    const i = this.index.get(node);
    if (i === undefined) throw new Error(`no address for node ${node}`);
    return i;
  }

  /** The id (in `table`) of what one chain of one node lets through from src to dst. */
  private chainSetId(node: string, chain: ChainName, from: string, to: string): number {
    const c = this.chain(node, chain);
    return c ? c.setId(this.idOf(from), this.idOf(to), this.table) : this.table.all;
  }

  /** What one chain of one node lets through from src to dst (everything when the node has no such chain). */
  chainAllows(node: string, chain: ChainName, from: string, to: string): ServiceSet {
    return this.table.sets[this.chainSetId(node, chain, from, to)] as ServiceSet;
  }

  private judges(pair: PathOfPair): Judge[] {
    return pair.path.slice(1).map((node) => ({ node, chain: node === pair.to ? "input" : "forward" }));
  }

  /** Nodes the reply crosses that did not see the request, judging it as new (from b to a). */
  private statelessReplyJudges(pair: PathOfPair): Judge[] {
    const saw = new Set(pair.path);
    return pair.returnPath.slice(1, -1).filter((n) => !saw.has(n)).map((node) => ({ node, chain: "forward" as const }));
  }

  /** What a reply may carry past a node without state: only whole protocols allowed from b to a. */
  private replyPasses(judge: Judge, pair: PathOfPair): ServiceSet {
    const s = this.chainAllows(judge.node, judge.chain, pair.to, pair.from);
    const whole = (ranges: ServiceSet["tcp"]) => ranges.some((r) => r.lo <= 0 && r.hi >= 65535);
    return { tcp: whole(s.tcp) ? s.tcp : [], udp: whole(s.udp) ? s.udp : [], icmp: s.other, other: s.other };
  }

  /** The id (in `table`) of everything the mesh carries from a to b; distinct results are few, so callers can key on it. */
  allowedId(pair: PathOfPair): number {
    if (!pair.reachable) return this.table.empty;
    let id = this.table.all;
    const path = pair.path;
    for (let i = 1; i < path.length; i++) {
      const node = path[i] as string;
      id = this.table.meet(id, this.chainSetId(node, node === pair.to ? "input" : "forward", pair.from, pair.to));
    }
    const replyOnly = this.statelessReplyJudges(pair);
    if (replyOnly.length === 0) return id;
    const s = this.table.sets[id] as ServiceSet;
    const carried = replyOnly.reduce((acc, j) => intersect(acc, this.replyPasses(j, pair)), everything());
    // A whole protocol is carried only if both ways pass; a port of it only where no stateless node stands.
    return this.table.intern({ tcp: carried.tcp.length > 0 ? s.tcp : [], udp: carried.udp.length > 0 ? s.udp : [], icmp: s.icmp && carried.icmp, other: s.other && carried.other });
  }

  /** Everything the mesh carries from a to b, replies included; nothing for a pair WireGuard cannot carry. */
  allowed(pair: PathOfPair): ServiceSet {
    return this.table.sets[this.allowedId(pair)] as ServiceSet;
  }

  /** One concrete flow: allowed and by which rule, or where it is dropped and by what. */
  verdict(pair: PathOfPair, probe: Probe): FlowVerdict {
    if (!pair.reachable) {
      const at = pair.path[pair.path.length - 1] ?? pair.from;
      return { allowed: false, probe, at, chain: "forward", rule: "unreachable", reason: "WireGuard cannot carry this pair" };
    }
    for (const j of this.judges(pair)) {
      if (!allows(this.chainAllows(j.node, j.chain, pair.from, pair.to), probe)) {
        return { allowed: false, probe, at: j.node, chain: j.chain, rule: "drop", reason: `${j.chain === "input" ? "input" : "forward"}: no rule allows ${pair.from} -> ${pair.to} ${formatProbe(probe)}` };
      }
    }
    for (const j of this.statelessReplyJudges(pair)) {
      if (!allows(this.replyPasses(j, pair), probe)) {
        return { allowed: false, probe, at: j.node, chain: j.chain, rule: "drop", reason: `the reply crosses ${j.node}, which did not see the request and allows no new ${formatProbe(probe)} from ${pair.to} to ${pair.from}` };
      }
    }
    return { allowed: true, probe, rule: this.acceptingRule(pair, probe) };
  }

  /** The first rule of the destination's input chain that takes the flow; "none" without a filter there. */
  acceptingRule(pair: PathOfPair, probe: Probe): string {
    const c = this.chain(pair.to, "input");
    if (!c) return "none";
    const hit = c.matching(this.idOf(pair.from), this.idOf(pair.to)).map((i) => c.rules[i] as CompiledRule).find((x) => allows(x.services, probe));
    return hit?.id ?? "none";
  }
}

/** A verdict in words: "allowed by rule 3" or "dropped at ireland (input: no rule allows ...)". */
export function verdictText(v: FlowVerdict): string {
  if (!v.allowed) return `dropped at ${v.at ?? "?"} (${v.reason ?? "no rule allows it"})`;
  return v.rule === "none" ? "allowed (no filter at the destination)" : /^\d+$/.test(v.rule) ? `allowed by rule ${v.rule}` : `allowed (${v.rule})`;
}
