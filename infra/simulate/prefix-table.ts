/**
 * Longest-prefix match over IPv4 prefixes: one hash map per prefix length, probed from the
 * longest length present down. A node holds a handful of distinct lengths, so a lookup is a
 * few map probes however many peers it has, which keeps a 1000-node mesh's pair walk cheap.
 */
import { networkOf, type Prefix } from "../cidr";

export interface PrefixMatch<T> {
  prefix: Prefix;
  value: T;
}

export class PrefixTable<T> {
  private readonly byLength = new Map<number, Map<number, T>>();
  /** Lengths present, longest first. */
  private lengths: number[] = [];

  /** Sets the value of a prefix and returns the one it replaced. */
  set(prefix: Prefix, value: T): T | undefined {
    let bucket = this.byLength.get(prefix.len);
    if (!bucket) {
      bucket = new Map();
      this.byLength.set(prefix.len, bucket);
      this.lengths = [...this.byLength.keys()].sort((a, b) => b - a);
    }
    const before = bucket.get(prefix.base);
    bucket.set(prefix.base, value);
    return before;
  }

  get(prefix: Prefix): T | undefined {
    return this.byLength.get(prefix.len)?.get(prefix.base);
  }

  delete(prefix: Prefix): void {
    this.byLength.get(prefix.len)?.delete(prefix.base);
  }

  /** The value of the longest prefix containing `ip`. */
  match(ip: number): T | undefined {
    for (const len of this.lengths) {
      const v = (this.byLength.get(len) as Map<number, T>).get(networkOf(ip, len));
      if (v !== undefined) return v;
    }
    return undefined;
  }

  matchPrefix(ip: number): PrefixMatch<T> | undefined {
    for (const len of this.lengths) {
      const base = networkOf(ip, len);
      const v = (this.byLength.get(len) as Map<number, T>).get(base);
      if (v !== undefined) return { prefix: { base, len }, value: v };
    }
    return undefined;
  }

  /** The longest prefix strictly shorter than `prefix` that contains it. */
  enclosing(prefix: Prefix): PrefixMatch<T> | undefined {
    for (const len of this.lengths) {
      if (len >= prefix.len) continue;
      const base = networkOf(prefix.base, len);
      const v = (this.byLength.get(len) as Map<number, T>).get(base);
      if (v !== undefined) return { prefix: { base, len }, value: v };
    }
    return undefined;
  }

  /**
   * The longest match of every address of `sortedIps` (ascending) at once: one sweep over the
   * prefixes sorted by start, which nest or are disjoint, so the innermost one containing an
   * address is on top of a stack. `into[i]` gets the value for sortedIps[i], or undefined.
   */
  matchAll(sortedIps: ArrayLike<number>, into: (T | undefined)[]): void {
    const prefixes: { start: number; end: number; len: number; value: T }[] = [];
    for (const [len, bucket] of this.byLength) for (const [base, value] of bucket) prefixes.push({ start: base, end: base + 2 ** (32 - len) - 1, len, value });
    prefixes.sort((a, b) => a.start - b.start || a.len - b.len);
    const stack: (typeof prefixes)[0][] = [];
    let k = 0;
    for (let i = 0; i < sortedIps.length; i++) {
      const ip = sortedIps[i] as number;
      while (k < prefixes.length && (prefixes[k] as (typeof prefixes)[0]).start <= ip) {
        const p = prefixes[k++] as (typeof prefixes)[0];
        while (stack.length > 0 && (stack[stack.length - 1] as (typeof prefixes)[0]).end < p.start) stack.pop();
        stack.push(p);
      }
      while (stack.length > 0 && (stack[stack.length - 1] as (typeof prefixes)[0]).end < ip) stack.pop();
      into[i] = stack.length > 0 ? (stack[stack.length - 1] as (typeof prefixes)[0]).value : undefined;
    }
  }

  *entries(): IterableIterator<PrefixMatch<T>> {
    for (const [len, bucket] of this.byLength) for (const [base, value] of bucket) yield { prefix: { base, len }, value };
  }
}
