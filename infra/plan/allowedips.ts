/**
 * AllowedIPs per peer: the fewest prefixes that send every destination to its next hop
 * under longest-prefix match, drawn only from the address plan so that a person can read
 * them: the overlay (only towards the node's default peer, typically the hub), region
 * subnets, and single addresses. Within that family it is the Optimal Routing Table
 * Constructor (Draves et al., 1999): each region takes the next hop most of its nodes use,
 * the others get /32s. Space no node uses is "don't care", which is what lets a spoke carry
 * the overlay towards the hub plus a prefix per direct peer, however large the mesh.
 *
 * WireGuard uses one table both ways (outbound: which peer; inbound: is this source
 * allowed from this peer), so a table that routes right also passes the inbound check.
 */
import { containsIp, containsPrefix, formatPrefix, type Prefix } from "../cidr";
import { PrefixTable } from "../simulate/prefix-table";

export interface Destination {
  ip: number;
  nextHop: string;
}

export interface RouteEntry {
  prefix: Prefix;
  nextHop: string;
}

export interface AddressPlan {
  /** Overlay-wide blocks (this stack's overlay and any imported ones); never overlapping. */
  roots: readonly Prefix[];
  /** Region subnets, each inside one root. */
  regions: readonly Prefix[];
}

/**
 * `preferredDefault` (the hub) takes the overlay-wide prefix when it ties for most
 * destinations: a spoke's default route should be its hub, not an arbitrary equal peer.
 */
export function aggregate(destinations: readonly Destination[], plan: AddressPlan, preferredDefault?: string): RouteEntry[] {
  const names = [...new Set(destinations.map((d) => d.nextHop))];
  const index = new Map(names.map((h, i) => [h, i]));
  const book = new AddressBook(plan, destinations.map((d) => d.ip));
  const preferred = preferredDefault === undefined ? undefined : index.get(preferredDefault);
  return book.table(
    -1,
    destinations.map((d) => index.get(d.nextHop) as number),
    names,
    preferred,
  );
}

interface Group {
  root: number;
  /** The region subnet, or undefined for the root's addresses in no region. */
  region: Prefix | undefined;
  members: number[];
}

/**
 * The address plan applied once to a fixed set of addresses (a mesh's nodes), so each node's
 * table is built in time linear in the nodes: a planner makes one table per node over the
 * same addresses, with only the next hops changing.
 */
export class AddressBook {
  private readonly groups: Group[];
  private readonly stray: number[];
  private counts = new Int32Array(0);
  private sorted: { ips: number[]; index: number[] } | undefined;

  constructor(
    private readonly plan: AddressPlan,
    private readonly ips: readonly number[],
  ) {
    const regions = [...plan.regions].sort((a, b) => a.base - b.base);
    const byKey = new Map<string, Group>();
    this.groups = [];
    this.stray = [];
    ips.forEach((ip, i) => {
      const root = plan.roots.findIndex((r) => containsIp(r, ip));
      if (root < 0) {
        this.stray.push(i);
        return;
      }
      const r = plan.roots[root] as Prefix;
      const found = regionOf(regions, ip);
      const region = found && containsPrefix(r, found) && found.len > r.len ? found : undefined;
      const key = `${root}:${region ? `${region.base}/${region.len}` : "-"}`;
      let group = byKey.get(key);
      if (!group) {
        group = { root, region, members: [] };
        byKey.set(key, group);
        this.groups.push(group);
      }
      group.members.push(i);
    });
  }

  /**
   * The entries of the node whose next hop for address i is names[hops[i]]; `self` is the
   * node's own index in the book (left out), or -1 when none of the addresses is its own.
   */
  table(self: number, hops: ArrayLike<number>, names: readonly string[], preferredDefault?: number): RouteEntry[] {
    const strays = this.stray.filter((i) => i !== self);
    if (strays.length > 0) throw new Error(`addresses outside the overlay: ${strays.map((i) => this.ips[i]).join(", ")}`);
    if (this.counts.length < names.length) this.counts = new Int32Array(names.length);
    // A negative hop is an address with no route (a failover table's dead node): "don't care".
    const all: number[] = [];
    for (let i = 0; i < this.ips.length; i++) if (i !== self && (hops[i] as number) >= 0) all.push(i);
    const defaultHop = this.dominant(all, hops, preferredDefault);
    const entries: RouteEntry[] = [];
    const rootHop = new Map<number, number | undefined>();
    this.plan.roots.forEach((root, r) => {
      let members = 0;
      let hasDefault = false;
      for (const g of this.groups) {
        if (g.root !== r) continue;
        for (const i of g.members) {
          if (i === self || (hops[i] as number) < 0) continue;
          members++;
          if (hops[i] === defaultHop) hasDefault = true;
        }
      }
      if (members === 0) return;
      // The overlay-wide prefix is a default route: only the dominant peer may have it.
      const hop = defaultHop !== undefined && hasDefault ? defaultHop : undefined;
      rootHop.set(r, hop);
      if (hop !== undefined) entries.push({ prefix: root, nextHop: names[hop] as string });
    });
    for (const g of this.groups) {
      const inherited = rootHop.get(g.root);
      const members = g.members.filter((i) => i !== self && (hops[i] as number) >= 0);
      if (members.length === 0) continue;
      let current = inherited;
      if (g.region) {
        // ORTC's choice: keep the inherited hop when it is one of the region's most used;
        // otherwise its most used (first name), unless that serves only one of several nodes:
        // a region prefix that saves nothing would hand the rest of the region to an arbitrary peer.
        const { leaders, top } = this.leaders(members, hops);
        if (current === undefined || !leaders.includes(current)) {
          const best = leaders.reduce((x, y) => ((names[y] as string) < (names[x] as string) ? y : x));
          if (members.length < 2 || top > 1) {
            current = best;
            entries.push({ prefix: g.region, nextHop: names[best] as string });
          }
        }
      }
      for (const i of members) if (hops[i] !== current) entries.push({ prefix: { base: this.ips[i] as number, len: 32 }, nextHop: names[hops[i] as number] as string });
    }
    this.selfCheck(entries, self, hops, names);
    return entries.sort((x, y) => x.prefix.base - y.prefix.base || x.prefix.len - y.prefix.len);
  }

  /** A wrong table would silently misroute, so the planner refuses to return one: every address looked up again, in one sweep. */
  private selfCheck(entries: readonly RouteEntry[], self: number, hops: ArrayLike<number>, names: readonly string[]): void {
    if (!this.sorted) {
      const order = this.ips.map((ip, i) => ({ ip, i })).sort((a, b) => a.ip - b.ip);
      this.sorted = { ips: order.map((o) => o.ip), index: order.map((o) => o.i) };
    }
    const table = new PrefixTable<string>();
    for (const e of entries) table.set(e.prefix, e.nextHop);
    const got: (string | undefined)[] = new Array(this.ips.length);
    table.matchAll(this.sorted.ips, got);
    this.sorted.index.forEach((i, k) => {
      if (i === self || (hops[i] as number) < 0) return;
      const want = names[hops[i] as number] as string;
      if (got[k] !== want) throw new Error(`internal: AllowedIPs send ${this.ips[i]} to ${got[k] ?? "nobody"} instead of ${want}`);
    });
  }

  /** The next hops used most among `members`, and how often. */
  private leaders(members: readonly number[], hops: ArrayLike<number>): { leaders: number[]; top: number } {
    const counts = this.counts;
    let top = 0;
    for (const i of members) {
      const c = ++counts[hops[i] as number];
      if (c > top) top = c;
    }
    const leaders: number[] = [];
    for (const i of members) {
      const h = hops[i] as number;
      if (counts[h] === top) {
        leaders.push(h);
        counts[h] = -1; // listed once
      }
    }
    for (const i of members) counts[hops[i] as number] = 0;
    return { leaders, top };
  }

  /** The next hop carrying the most destinations (more than one); a tie goes to the preferred one or nobody. */
  private dominant(members: readonly number[], hops: ArrayLike<number>, preferred: number | undefined): number | undefined {
    const { leaders, top } = this.leaders(members, hops);
    if (top < 2) return undefined;
    if (leaders.length === 1) return leaders[0];
    return preferred !== undefined && leaders.includes(preferred) ? preferred : undefined;
  }
}

/** The region subnet holding ip, by binary search over subnets sorted by base (they never overlap). */
function regionOf(sorted: readonly Prefix[], ip: number): Prefix | undefined {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as Prefix).base <= ip) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const r = found >= 0 ? (sorted[found] as Prefix) : undefined;
  return r && containsIp(r, ip) ? r : undefined;
}

/** Longest-prefix match over route entries. */
export function lookup(entries: readonly RouteEntry[], ip: number): string | undefined {
  let best: RouteEntry | undefined;
  for (const e of entries) if (containsIp(e.prefix, ip) && (!best || e.prefix.len > best.prefix.len)) best = e;
  return best?.nextHop;
}

export function groupByNextHop(entries: readonly RouteEntry[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of entries) {
    const list = out.get(e.nextHop) ?? [];
    list.push(formatPrefix(e.prefix));
    out.set(e.nextHop, list);
  }
  return out;
}
