/**
 * Groups resolved to nodes. A group's members are the nodes matching every attribute list it gives
 * (roles, regions, areas, clouds, sites; any value within one list), plus the nodes it names and
 * the members of the groups it names. Rules and tests name groups, nodes, or "*" for every node.
 */
import { EVERY_NODE, type AccessSpec, type EndRef, type GroupSelector, type NodeFacts } from "./model";

const ATTRIBUTES = [
  ["roles", "role"],
  ["regions", "region"],
  ["areas", "area"],
  ["clouds", "cloud"],
  ["sites", "site"],
] as const;

export function hasAttributes(s: GroupSelector): boolean {
  return ATTRIBUTES.some(([key]) => s[key] !== undefined);
}

/** The nodes a selector's attribute lists match (none when it gives no attribute list). */
export function attributeMatches(s: GroupSelector, nodes: readonly NodeFacts[]): string[] {
  if (!hasAttributes(s)) return [];
  return nodes.filter((n) => ATTRIBUTES.every(([key, field]) => s[key] === undefined || (s[key] as string[]).includes(n[field]))).map((n) => n.name);
}

export class GroupBook {
  private readonly members = new Map<string, Set<string>>();
  private readonly selectors: Map<string, GroupSelector>;
  readonly nodeNames: ReadonlySet<string>;

  constructor(
    spec: Pick<AccessSpec, "groups">,
    readonly nodes: readonly NodeFacts[],
  ) {
    this.selectors = new Map(spec.groups.map((g) => [g.name, g.selector]));
    this.nodeNames = new Set(nodes.map((n) => n.name));
  }

  hasGroup(name: string): boolean {
    return this.selectors.has(name);
  }

  get groupNames(): string[] {
    return [...this.selectors.keys()];
  }

  /** A group's members; a group that (wrongly) contains itself stops at the cycle. */
  group(name: string, seen: ReadonlySet<string> = new Set()): Set<string> {
    const done = this.members.get(name);
    if (done) return done;
    const s = this.selectors.get(name);
    if (!s || seen.has(name)) return new Set();
    const inner = new Set([...seen, name]);
    const out = new Set(attributeMatches(s, this.nodes));
    for (const n of s.nodes ?? []) if (this.nodeNames.has(n)) out.add(n);
    for (const g of s.groups ?? []) for (const n of this.group(g, inner)) out.add(n);
    if (seen.size === 0) this.members.set(name, out);
    return out;
  }

  /** One rule end: "*", a group (groups first), or a node. */
  end(ref: EndRef): Set<string> {
    if (ref === EVERY_NODE) return new Set(this.nodeNames);
    if (this.selectors.has(ref)) return this.group(ref);
    return this.nodeNames.has(ref) ? new Set([ref]) : new Set();
  }

  ends(refs: readonly EndRef[]): Set<string> {
    const out = new Set<string>();
    for (const r of refs) for (const n of this.end(r)) out.add(n);
    return out;
  }
}
