/**
 * Failover tables: for each node and each peer whose loss changes its routes, the AllowedIPs its
 * peers take when that peer stops answering. The node's watchdog applies them with `wg set`, by
 * itself, in seconds; nobody else is told.
 *
 * A node cannot tell a dead peer from a dead link, so one table serves both: the routes of the mesh
 * without the lost peer (its home nodes' backup links promoted), and for the lost peer's own address
 * the route around the link alone, so a broken link between two live nodes still carries their pair
 * where the mesh allows it. The tables are computed with the planner's own shortest paths, whose order
 * of paths does not depend on which links exist: a path that survives a failure stays chosen, so a
 * table differs from the node's normal one exactly where the failure matters.
 */
import type { FailoverEntry, PlannedLink, ResilienceLayout } from "../model";
import { groupByNextHop, type AddressBook } from "./allowedips";
import { firstHopRows, type AllPairsPaths } from "./paths";
import { linkId } from "./topology";

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
}

/** The links that carry traffic once `lost` (a node, or a link id) is gone. */
function survivingLinks(links: readonly PlannedLink[], layout: ResilienceLayout, lost: { node: string } | { a: string; b: string }): PlannedLink[] {
  const out: PlannedLink[] = [];
  for (const l of links) {
    if ("node" in lost ? l.a === lost.node || l.b === lost.node : l.id === linkId(lost.a, lost.b)) continue;
    if (!l.backup) {
      out.push(l);
      continue;
    }
    // A backup link is promoted when its node's primary home, or the link to it, is what was lost.
    const owner = layout.homes[l.a]?.backup === l.b ? l.a : l.b;
    const primary = layout.homes[owner]?.primary;
    const promoted = "node" in lost ? primary === lost.node : primary !== undefined && linkId(owner, primary) === linkId(lost.a, lost.b);
    if (promoted) out.push(l);
  }
  return out;
}

export function failoverTables(input: FailoverInput): Map<string, FailoverEntry[]> {
  const { names, links, layout, book, apsp, normal } = input;
  const sorted = apsp.names;
  const n = sorted.length;
  const routeIndex = names.map((name) => apsp.index.get(name) as number);
  const hubIndex = apsp.index.get(input.hub);
  const around = new Map<string, string[]>(names.map((x) => [x, []]));
  for (const l of links) {
    around.get(l.a)?.push(l.b);
    around.get(l.b)?.push(l.a);
  }
  const out = new Map<string, FailoverEntry[]>();
  const hops = new Int32Array(names.length);
  const declaredAt = new Map(names.map((name, i) => [name, i]));
  const opts = { noTransit: input.noTransit };
  for (const lost of names) {
    const neighbours = (around.get(lost) as string[]).slice().sort();
    if (neighbours.length === 0) continue;
    const withoutNode = firstHopRows(sorted, survivingLinks(links, layout, { node: lost }), neighbours, opts);
    const lostAt = apsp.index.get(lost) as number;
    for (const v of neighbours) {
      const row = withoutNode.get(v) as Int32Array;
      row[lostAt] = (firstHopRows(sorted, survivingLinks(links, layout, { a: v, b: lost }), [v], opts).get(v) as Int32Array)[lostAt] as number;
      const self = apsp.index.get(v) as number;
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
      list.push({ lost, peers: changed });
      out.set(v, list);
    }
  }
  return out;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
