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
 *
 * Linear in the destinations (a node of a thousand-node mesh has a thousand): each is put in
 * its root and region once, by binary search over the region subnets, which never overlap.
 */
export function aggregate(destinations: readonly Destination[], plan: AddressPlan, preferredDefault?: string): RouteEntry[] {
  const defaultHop = dominantHop(destinations, preferredDefault);
  const regions = [...plan.regions].sort((a, b) => a.base - b.base);
  const entries: RouteEntry[] = [];
  const stray: Destination[] = [];
  // Per root: its regions' hosts by region, and the hosts in no region.
  const byRoot = plan.roots.map(() => ({ regions: new Map<Prefix, Destination[]>(), loose: [] as Destination[], count: 0, hasDefault: false }));
  for (const d of destinations) {
    const r = plan.roots.findIndex((root) => containsIp(root, d.ip));
    if (r < 0) {
      stray.push(d);
      continue;
    }
    const root = plan.roots[r] as Prefix;
    const group = byRoot[r] as (typeof byRoot)[0];
    group.count++;
    if (d.nextHop === defaultHop) group.hasDefault = true;
    const region = regionOf(regions, d.ip);
    if (region && containsPrefix(root, region) && region.len > root.len) {
      const list = group.regions.get(region);
      if (list) list.push(d);
      else group.regions.set(region, [d]);
    } else group.loose.push(d);
  }
  if (stray.length > 0) throw new Error(`addresses outside the overlay: ${stray.map((d) => d.ip).join(", ")}`);
  plan.roots.forEach((root, r) => {
    const group = byRoot[r] as (typeof byRoot)[0];
    if (group.count === 0) return;
    // The overlay-wide prefix is a default route: only the dominant peer may have it.
    const rootHop = defaultHop !== undefined && group.hasDefault ? defaultHop : undefined;
    if (rootHop) entries.push({ prefix: root, nextHop: rootHop });
    for (const [region, hosts] of group.regions) assignRegion(region, hosts, rootHop, entries);
    for (const d of group.loose) if (d.nextHop !== rootHop) entries.push({ prefix: { base: d.ip, len: 32 }, nextHop: d.nextHop });
  });
  selfCheck(destinations, entries);
  return entries.sort((x, y) => x.prefix.base - y.prefix.base || x.prefix.len - y.prefix.len);
}

/** The region subnet holding ip, by binary search over subnets sorted by base. */
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

/** The next hop carrying the most destinations (more than one); a tie goes to the preferred one or nobody. */
function dominantHop(destinations: readonly Destination[], preferred?: string): string | undefined {
  const counts = countHops(destinations.map((d) => d.nextHop));
  const top = Math.max(0, ...counts.values());
  const leaders = [...counts.entries()].filter(([, n]) => n === top).map(([h]) => h);
  if (top < 2) return undefined;
  if (leaders.length === 1) return leaders[0];
  return preferred !== undefined && leaders.includes(preferred) ? preferred : undefined;
}

function countHops(hops: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const h of hops) counts.set(h, (counts.get(h) ?? 0) + 1);
  return counts;
}

/**
 * ORTC's choice for a region under `inherited`: the region keeps the inherited hop when that
 * is one of its most used; otherwise it takes its most used hop (fewest name first), unless
 * that serves only one of several nodes: a region prefix that saves nothing would hand the
 * rest of the region to an arbitrary peer, so its addresses are listed instead.
 */
function assignRegion(region: Prefix, hosts: readonly Destination[], inherited: string | undefined, out: RouteEntry[]): void {
  const counts = countHops(hosts.map((h) => h.nextHop));
  const top = Math.max(...counts.values());
  const leaders = [...counts.entries()].filter(([, n]) => n === top).map(([h]) => h);
  let current = inherited;
  if (current === undefined || !leaders.includes(current)) {
    const best = [...leaders].sort()[0] as string;
    if (hosts.length < 2 || top > 1) {
      current = best;
      out.push({ prefix: region, nextHop: best });
    }
  }
  for (const h of hosts) if (h.nextHop !== current) out.push({ prefix: { base: h.ip, len: 32 }, nextHop: h.nextHop });
}

/** A wrong table would silently misroute, so the planner refuses to return one. */
function selfCheck(destinations: readonly Destination[], entries: readonly RouteEntry[]): void {
  const table = new PrefixTable<string>();
  for (const e of entries) table.set(e.prefix, e.nextHop);
  for (const d of destinations) {
    const got = table.match(d.ip);
    if (got !== d.nextHop) throw new Error(`internal: AllowedIPs send ${d.ip} to ${got ?? "nobody"} instead of ${d.nextHop}`);
  }
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
