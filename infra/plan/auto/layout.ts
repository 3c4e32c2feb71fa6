/**
 * How the nodes of one site (metro) are linked among themselves. A few nodes that may carry
 * others' traffic (transit nodes: the hub and POPs unless the declaration says otherwise) form
 * the site's core, linked to each other and carrying every link to other sites; every other node
 * hangs off a core node (depth 1) or, when the core has no room left, off a transit node that
 * hangs off the core (depth 2). Local hops cost the same-site round trip (about 1 ms), so a
 * node at depth A reaches the core in A hops and any gateway of its site in A + 1.
 *
 * The layout is chosen for the fewest local hops a packet may need on its way out (depth, plus
 * one when the core has several nodes and the way out may start on another of them), then for
 * the smallest core.
 */

export interface SiteMember {
  name: string;
  /** May carry others' traffic (infra/plan/transit.ts); only these form cores and carry children. */
  transit: boolean;
  /** hub 0, pop 1, backend 2: the preferred transit nodes come first. */
  roleRank: number;
  /** Peers it may still take (maxPeers less its explicit links). */
  capacity: number;
}

export interface SiteLayout {
  core: SiteMember[];
  /** Largest number of local hops from a node to the core: 0, 1 or 2. */
  depth: number;
  /** 1 when the core has several nodes (a way out may start on another one), else 0. */
  switchHops: number;
  /** Depth-1 positions the layout fills (core links to non-core nodes). */
  depthOneSlots: number;
  /** Nodes that find no place (leaves beyond what the transit nodes can carry). */
  overflow: number;
}

/** Transit nodes first by role, then name: the order cores and aggregators are taken in; then the leaves. */
export function orderMembers(members: readonly SiteMember[]): { carriers: SiteMember[]; leaves: SiteMember[] } {
  const byRank = (a: SiteMember, b: SiteMember) => a.roleRank - b.roleRank || b.capacity - a.capacity || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return { carriers: members.filter((m) => m.transit).sort(byRank), leaves: members.filter((m) => !m.transit).sort(byRank) };
}

interface CoreOption {
  c: number;
  /** Slots the core has for links to non-core nodes and to other sites together. */
  coreFree: number;
}

function coreOptions(carriers: readonly SiteMember[]): CoreOption[] {
  const out: CoreOption[] = [];
  let sum = 0;
  for (let c = 1; c <= carriers.length; c++) {
    sum += (carriers[c - 1] as SiteMember).capacity;
    const tightest = Math.min(...carriers.slice(0, c).map((m) => m.capacity));
    if (tightest < c - 1) break; // the core is a clique: each core node needs c - 1 slots for it
    out.push({ c, coreFree: sum - c * (c - 1) });
  }
  return out;
}

/**
 * Depth-1 positions needed to place `rest` nodes when transit non-core nodes (capacities
 * `aggregators`, largest first) may each carry children: an aggregator at depth 1 takes one
 * position and places itself plus capacity - 1 others.
 */
function depthOnePositionsNeeded(rest: number, aggregators: readonly number[]): { positions: number; overflow: number } {
  let placed = 0;
  let positions = 0;
  for (const cap of aggregators) {
    if (placed >= rest) break;
    positions++;
    placed += Math.max(1, cap);
  }
  if (placed >= rest) return { positions, overflow: 0 };
  // No aggregator left: the remaining leaves need positions of their own.
  return { positions: positions + (rest - placed), overflow: 0 };
}

/** The site's layout when `interSite` link ends must sit on its core. */
export function planLayout(members: readonly SiteMember[], interSite: number): SiteLayout {
  const { carriers } = orderMembers(members);
  const k = members.length;
  if (carriers.length === 0) return { core: [], depth: 0, switchHops: 0, depthOneSlots: 0, overflow: k };
  let best: (SiteLayout & { key: number[] }) | undefined;
  for (const { c, coreFree } of coreOptions(carriers)) {
    const childSlots = coreFree - interSite;
    if (childSlots < 0) continue;
    const rest = k - c;
    let layout: SiteLayout;
    if (rest === 0) layout = { core: carriers.slice(0, c), depth: 0, switchHops: c > 1 ? 1 : 0, depthOneSlots: 0, overflow: 0 };
    else if (rest <= childSlots) layout = { core: carriers.slice(0, c), depth: 1, switchHops: c > 1 ? 1 : 0, depthOneSlots: rest, overflow: 0 };
    else {
      // Depth 2: transit non-core nodes at depth 1 carry the rest; the others are leaves.
      const aggregators = carriers.slice(c);
      let x = 0;
      let under = 0;
      while (childSlots + under < rest && x < Math.min(childSlots, aggregators.length)) under += (aggregators[x++] as SiteMember).capacity - 1;
      const placed = Math.min(rest, childSlots + under);
      layout = { core: carriers.slice(0, c), depth: 2, switchHops: c > 1 ? 1 : 0, depthOneSlots: childSlots, overflow: rest - placed };
    }
    const key = [layout.overflow, layout.depth + layout.switchHops, layout.depth, c];
    if (!best || lexLess(key, best.key)) best = { ...layout, key };
  }
  if (!best) {
    // Not even the link ends fit: the largest core, and the planner reports what misses.
    const all = coreOptions(carriers).at(-1) as CoreOption;
    return { core: carriers.slice(0, all.c), depth: k > all.c ? 2 : 0, switchHops: all.c > 1 ? 1 : 0, depthOneSlots: 0, overflow: k - all.c };
  }
  const { key: _key, ...layout } = best;
  return layout;
}

/** The most link ends to other sites the site can carry, with every node still placed. */
export function interSiteCapacity(members: readonly SiteMember[]): number {
  const { carriers } = orderMembers(members);
  const k = members.length;
  let best = 0;
  for (const { c, coreFree } of coreOptions(carriers)) {
    const aggregators = carriers.slice(c).map((m) => m.capacity);
    const { positions } = depthOnePositionsNeeded(k - c, aggregators);
    best = Math.max(best, coreFree - positions);
  }
  return best;
}

function lexLess(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) < (b[i] as number);
  return false;
}
