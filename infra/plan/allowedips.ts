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

interface Block {
  prefix: Prefix;
  candidates: Set<string>;
  counts: Map<string, number>;
  children: Block[];
}

/**
 * `preferredDefault` (the hub) takes the overlay-wide prefix when it ties for most
 * destinations: a spoke's default route should be its hub, not an arbitrary equal peer.
 */
export function aggregate(destinations: readonly Destination[], plan: AddressPlan, preferredDefault?: string): RouteEntry[] {
  const defaultHop = dominantHop(destinations, preferredDefault);
  const entries: RouteEntry[] = [];
  const placed = new Set<Destination>();
  for (const root of plan.roots) {
    const inRoot = destinations.filter((d) => containsIp(root, d.ip));
    if (inRoot.length === 0) continue;
    inRoot.forEach((d) => placed.add(d));
    const regions = plan.regions.filter((r) => containsPrefix(root, r) && r.len > root.len);
    const children = regions
      .map((r) => leafBlock(r, inRoot.filter((d) => containsIp(r, d.ip))))
      .filter((b): b is Block => b !== undefined);
    const loose = inRoot.filter((d) => !regions.some((r) => containsIp(r, d.ip)));
    children.push(...loose.map((d) => hostBlock(d)));
    const rootBlock = combine(root, children);
    // The overlay-wide prefix is a default route: only the dominant peer may have it.
    const rootHop = defaultHop && inRoot.some((d) => d.nextHop === defaultHop) ? defaultHop : undefined;
    if (rootHop) entries.push({ prefix: root, nextHop: rootHop });
    for (const child of rootBlock.children) assign(child, rootHop, entries);
  }
  const stray = destinations.filter((d) => !placed.has(d));
  if (stray.length > 0) throw new Error(`addresses outside the overlay: ${stray.map((d) => d.ip).join(", ")}`);
  selfCheck(destinations, entries);
  return entries.sort((x, y) => x.prefix.base - y.prefix.base || x.prefix.len - y.prefix.len);
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

function hostBlock(d: Destination): Block {
  return { prefix: { base: d.ip, len: 32 }, candidates: new Set([d.nextHop]), counts: new Map([[d.nextHop, 1]]), children: [] };
}

function leafBlock(region: Prefix, inside: readonly Destination[]): Block | undefined {
  if (inside.length === 0) return undefined;
  return combine(region, inside.map(hostBlock));
}

/** ORTC's merge for k children: the next hops shared by the most children. */
function combine(prefix: Prefix, children: Block[]): Block {
  const votes = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const c of children) {
    for (const h of c.candidates) votes.set(h, (votes.get(h) ?? 0) + 1);
    for (const [h, n] of c.counts) counts.set(h, (counts.get(h) ?? 0) + n);
  }
  const top = Math.max(0, ...votes.values());
  const candidates = new Set([...votes.entries()].filter(([, v]) => v === top).map(([h]) => h));
  return { prefix, candidates, counts, children };
}

function assign(block: Block, inherited: string | undefined, out: RouteEntry[]): void {
  let current = inherited;
  if (current === undefined || !block.candidates.has(current)) {
    const best = [...block.candidates].sort((a, b) => (block.counts.get(b) ?? 0) - (block.counts.get(a) ?? 0) || (a < b ? -1 : 1))[0] as string;
    // A region prefix that serves one of several nodes saves nothing and hands the rest
    // of the region to an arbitrary peer: list the addresses instead.
    const saves = block.children.length < 2 || block.children.filter((c) => c.candidates.has(best)).length > 1;
    if (saves) {
      current = best;
      out.push({ prefix: block.prefix, nextHop: current });
    }
  }
  for (const child of block.children) assign(child, current, out);
}

/** A wrong table would silently misroute, so the planner refuses to return one. */
function selfCheck(destinations: readonly Destination[], entries: readonly RouteEntry[]): void {
  for (const d of destinations) {
    const got = lookup(entries, d.ip);
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
