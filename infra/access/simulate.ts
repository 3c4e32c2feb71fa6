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

function matches(prefixes: readonly Prefix[] | undefined, ip: number): boolean {
  return prefixes === undefined || prefixes.some((p) => containsIp(p, ip));
}

export class FilterModel {
  private readonly address = new Map<string, number>();
  private readonly cache = new Map<string, ServiceSet>();

  /**
   * `rulesets`: what each node runs (a node absent or undefined runs none); `addresses`: every
   * node's overlay address.
   */
  constructor(
    private readonly rulesets: ReadonlyMap<string, NodeRuleset | undefined>,
    addresses: ReadonlyMap<string, string>,
  ) {
    for (const [name, a] of addresses) this.address.set(name, parseIPv4(a) as number);
  }

  private chain(node: string, chain: ChainName): readonly CompiledRule[] | undefined {
    const r = this.rulesets.get(node);
    return chain === "input" ? r?.input : r?.forward;
  }

  private matching(rules: readonly CompiledRule[], src: number, dst: number): CompiledRule[] {
    return rules.filter((r) => matches(r.from, src) && matches(r.to, dst));
  }

  /** What one chain of one node lets through from src to dst (everything when the node has no such chain). */
  chainAllows(node: string, chain: ChainName, from: string, to: string): ServiceSet {
    const rules = this.chain(node, chain);
    if (!rules) return everything();
    const src = this.address.get(from) as number;
    const dst = this.address.get(to) as number;
    const hit = this.matching(rules, src, dst);
    const key = `${node}\u0000${chain}\u0000${hit.map((r) => rules.indexOf(r)).join(",")}`;
    let s = this.cache.get(key);
    if (!s) {
      s = hit.reduce((acc, r) => union(acc, r.services), emptySet());
      this.cache.set(key, s);
    }
    return s;
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

  /** Everything the mesh carries from a to b, replies included; nothing for a pair WireGuard cannot carry. */
  allowed(pair: PathOfPair): ServiceSet {
    if (!pair.reachable) return emptySet();
    let s = everything();
    for (const j of this.judges(pair)) s = intersect(s, this.chainAllows(j.node, j.chain, pair.from, pair.to));
    const replyOnly = this.statelessReplyJudges(pair);
    if (replyOnly.length > 0) {
      const carried = replyOnly.reduce((acc, j) => intersect(acc, this.replyPasses(j, pair)), everything());
      // A whole protocol is carried only if both ways pass; a port of it only where no stateless node stands.
      s = { tcp: carried.tcp.length > 0 ? s.tcp : [], udp: carried.udp.length > 0 ? s.udp : [], icmp: s.icmp && carried.icmp, other: s.other && carried.other };
    }
    return s;
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
    const rules = this.chain(pair.to, "input");
    if (!rules) return "none";
    const src = this.address.get(pair.from) as number;
    const dst = this.address.get(pair.to) as number;
    const r = this.matching(rules, src, dst).find((x) => allows(x.services, probe));
    return r?.id ?? "none";
  }
}

/** A verdict in words: "allowed by rule 3" or "dropped at ireland (input: no rule allows ...)". */
export function verdictText(v: FlowVerdict): string {
  if (!v.allowed) return `dropped at ${v.at ?? "?"} (${v.reason ?? "no rule allows it"})`;
  return v.rule === "none" ? "allowed (no filter at the destination)" : /^\d+$/.test(v.rule) ? `allowed by rule ${v.rule}` : `allowed (${v.rule})`;
}
