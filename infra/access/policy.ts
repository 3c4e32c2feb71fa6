/**
 * What a policy means between two nodes, before any path: the services the declared rules allow from
 * one to the other, and which rule allows each. Every node of a path judges a flow by the same rules,
 * so this is also what the mesh lets through end to end, once the simulator has walked the paths.
 *
 * Nodes that every rule end treats alike (in the same from- and to-sets) are one class, so meshes of
 * thousands of nodes are judged per pair of classes, not per pair of nodes.
 */
import type { AccessRule, AccessSpec } from "./model";
import { GroupBook } from "./groups";
import { emptySet, setOf, union, type ServiceSet } from "./services";

export interface ResolvedRule {
  rule: AccessRule;
  from: Set<string>;
  to: Set<string>;
  services: ServiceSet;
}

export class Policy {
  readonly rules: ResolvedRule[];
  /** Node name -> class index. */
  readonly classOf = new Map<string, number>();
  /** Per class, its nodes. */
  readonly classes: string[][] = [];

  constructor(
    readonly spec: AccessSpec,
    readonly book: GroupBook,
  ) {
    this.rules = spec.rules.map((rule) => ({ rule, from: book.ends(rule.from), to: book.ends(rule.to), services: setOf(rule.services) }));
    const bySignature = new Map<string, number>();
    for (const n of book.nodes) {
      const signature = this.rules.map((r) => `${r.from.has(n.name) ? 1 : 0}${r.to.has(n.name) ? 1 : 0}`).join("");
      let c = bySignature.get(signature);
      if (c === undefined) {
        c = this.classes.length;
        bySignature.set(signature, c);
        this.classes.push([]);
      }
      this.classes[c]?.push(n.name);
      this.classOf.set(n.name, c);
    }
  }

  /** The rules that apply from a to b, in order. */
  rulesFor(a: string, b: string): ResolvedRule[] {
    return this.rules.filter((r) => r.from.has(a) && r.to.has(b));
  }

  /** What the declared rules allow from a to b (not ICMP echo the policy lets through without a rule). */
  allowed(a: string, b: string): ServiceSet {
    let s = emptySet();
    for (const r of this.rulesFor(a, b)) s = union(s, r.services);
    return s;
  }

  /** One representative ordered pair of distinct nodes per pair of classes that has one. */
  *classPairs(): Generator<[string, string]> {
    for (const ca of this.classes) {
      for (const cb of this.classes) {
        const a = ca[0] as string;
        const b = ca === cb ? cb[1] : cb[0];
        if (b !== undefined) yield [a, b];
      }
    }
  }
}
