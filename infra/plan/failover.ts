/**
 * Failover tables: for each node and each peer whose loss changes its routes, the AllowedIPs its
 * peers take when that peer stops answering. The node's watchdog applies them with `wg set`, by
 * itself, in seconds; nobody else is told.
 *
 * A node cannot tell a dead peer from a dead link, so one table serves both: the routes of the mesh
 * without the lost peer (its home nodes' backup links promoted). The lost peer's own address stays
 * on its link: the watchdog's probes to it must cross that link and no other, so that an answer
 * means the peer and the link are back (an answer by another way would end the failover while the
 * link is still down), and a returning node reaches its neighbours at once. The price is the pair
 * itself while a link between two live nodes is cut. The tables are computed with the planner's own shortest paths, whose order
 * of paths does not depend on which links exist: a path that survives a failure stays chosen, so a
 * table differs from the node's normal one exactly where the failure matters.
 */
import type { FailoverEntry, PlannedLink, ResilienceLayout } from "../model";
import { groupByNextHop, type AddressBook } from "./allowedips";
import { firstHopRows, type AllPairsPaths } from "./paths";

export interface FailoverInput {
  /** Node names in declaration order (the address book's order). */
  names: readonly string[];
  /** Every planned link; `backup` ones carry nothing until a failover promotes them. */
  links: readonly PlannedLink[];
  noTransit: ReadonlySet<string>;
  layout: ResilienceLayout;
  book: AddressBook;
  /** The normal routes (over the links that are not backups). */
  apsp: AllPairsPaths;
  hub: string;
  /** Each node's normal AllowedIPs per peer. */
  normal: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;
  /** Each node's overlay address: what a watchdog pings to hear from it. */
  addresses: ReadonlyMap<string, string>;
}

/** The links that carry traffic once `lost` (a node, or a link id) is gone. */
function survivingLinks(links: readonly PlannedLink[], layout: ResilienceLayout, lost: string): PlannedLink[] {
  const out: PlannedLink[] = [];
  for (const l of links) {
    if (l.a === lost || l.b === lost) continue;
    // A backup link is promoted when its node's primary home is what was lost.
    const owner = layout.homes[l.a]?.backup === l.b ? l.a : l.b;
    if (!l.backup || layout.homes[owner]?.primary === lost) out.push(l);
  }
  return out;
}

export function failoverTables(input: FailoverInput): Map<string, FailoverEntry[]> {
  const { names, links, layout, book, apsp, normal } = input;
  const addressOf = input.addresses;
  const sorted = apsp.names;
  const n = sorted.length;
  const routeIndex = names.map((name) => apsp.index.get(name) as number);
  const hubIndex = apsp.index.get(input.hub);
  const around = new Map<string, string[]>(names.map((x) => [x, []]));
  for (const l of links) {
    around.get(l.a)?.push(l.b);
    around.get(l.b)?.push(l.a);
  }
  const core = new Set(layout.core);
  const pairOnly = new Map<string, string[]>();
  for (const l of links) {
    if (l.backup || core.has(l.a) || core.has(l.b)) continue;
    pairOnly.set(l.a, [...(pairOnly.get(l.a) ?? []), l.b]);
    pairOnly.set(l.b, [...(pairOnly.get(l.b) ?? []), l.a]);
  }
  const out = new Map<string, FailoverEntry[]>();
  const hops = new Int32Array(names.length);
  const declaredAt = new Map(names.map((name, i) => [name, i]));
  const opts = { noTransit: input.noTransit };
  for (const lost of names) {
    const neighbours = (around.get(lost) as string[]).slice().sort();
    if (neighbours.length === 0) continue;
    const withoutNode = firstHopRows(sorted, survivingLinks(links, layout, lost), neighbours, opts);
    const lostAt = apsp.index.get(lost) as number;
    for (const v of neighbours) {
      const row = withoutNode.get(v) as Int32Array;
      const self = apsp.index.get(v) as number;
      row[lostAt] = apsp.nextHop[self * n + lostAt] as number;
      // A direct link between two nodes outside the core carries its pair and nothing else, whatever
      // fails: its far end, unaware of the failure, keeps sending this node's traffic over it.
      for (const t of pairOnly.get(v) ?? []) if (t !== lost) row[apsp.index.get(t) as number] = apsp.index.get(t) as number;
      let same = true;
      for (let d = 0; d < n && same; d++) if (row[d] !== apsp.nextHop[self * n + d]) same = false;
      if (same) continue;
      const selfAt = declaredAt.get(v) as number;
      for (let d = 0; d < names.length; d++) hops[d] = d === selfAt ? 0 : (row[routeIndex[d] as number] as number);
      const table = groupByNextHop(book.table(selfAt, hops, sorted, hubIndex));
      const peers = new Set(around.get(v));
      for (const next of table.keys()) if (!peers.has(next)) throw new Error(`internal: ${v}'s failover for ${lost} routes through ${next}, which is not its peer`);
      const before = normal.get(v);
      const changed = [...peers]
        .sort()
        .map((p) => ({ name: p, allowedIps: table.get(p) ?? [] }))
        .filter((p) => !sameList(p.allowedIps, before?.get(p.name) ?? []));
      if (changed.length === 0) continue;
      const list = out.get(v) ?? [];
      list.push({ lost, address: addressOf.get(lost) as string, peers: changed });
      out.set(v, list);
    }
  }
  return out;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
