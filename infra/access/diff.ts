/**
 * What a change of the declaration does to access: the flows it opens and closes, proven on both
 * sides' simulated paths with both sides' rulesets ("now allowed: apac-backends -> hub: tcp/443"),
 * which nodes' rulesets change (each applied in place by wgmesh-firewall: nft -f, one transaction,
 * no tunnel restart), and whether the new policy's own tests hold. A flat mesh allows every flow,
 * so adding a policy lists what it denies, and removing one what it lets through again.
 *
 * Pairs are grouped for people: pairs whose change is the same are merged by source when their
 * destinations are the same, and a set of nodes is named by a declared group that is exactly it,
 * by its one node, by role and area ("apac backends"), or by its members.
 */
import type { MeshPlan, PlannedNode } from "../model";
import { compileAccess, type CompiledAccess } from "./compile";
import { renderAccessRulesets } from "./files";
import { AccessEvaluator, type TestResult } from "./report";
import { everything, formatSet, isEmpty, subtract, type ServiceSet } from "./services";
import { FilterModel, type PathOfPair } from "./simulate";

export interface FlowChange {
  /** "allowed": the change opens these flows; "denied": it closes them. */
  now: "allowed" | "denied";
  from: string;
  to: string;
  services: string;
  /** Ordered pairs the line stands for. */
  pairs: number;
}

export interface AccessDiff {
  changed: boolean;
  /** "added", "removed", "changed" or "unchanged" (the policy's rules and groups as declared). */
  policy: "added" | "removed" | "changed" | "unchanged";
  flows: FlowChange[];
  /** Nodes whose ruleset changes, is loaded for the first time, or is removed. */
  rulesets: { changed: string[]; added: string[]; removed: string[] };
  /** The new policy's tests that fail in the simulator (the diff then exits 3). */
  failingTests: TestResult[];
}

/** How many lines of flow changes are kept; the rest are counted. */
const FLOW_LINES = 40;

interface Side {
  plan: MeshPlan;
  compiled?: CompiledAccess;
  filter?: FilterModel;
  pairs: Map<string, PathOfPair>;
}

function side(plan: MeshPlan, pairs: readonly PathOfPair[]): Side {
  const compiled = compileAccess(plan);
  return {
    plan,
    ...(compiled ? { compiled, filter: new FilterModel(compiled.rulesets, new Map(plan.nodes.map((n) => [n.name, n.address]))) } : {}),
    pairs: new Map(pairs.map((p) => [`${p.from}>${p.to}`, p])),
  };
}

function allowedOn(s: Side, from: string, to: string): ServiceSet | undefined {
  const pair = s.pairs.get(`${from}>${to}`);
  if (!pair) return undefined;
  if (!s.filter) return pair.reachable ? everything() : { tcp: [], udp: [], icmp: false, other: false };
  return s.filter.allowed(pair);
}

const ROLE_WORDS: Record<string, string> = { hub: "hub", pop: "POPs", backend: "backends" };

/** A name people recognise for a set of nodes. */
class Namer {
  private readonly groups: [string, Set<string>][] = [];
  /** Sets a "but" form may start from: declared groups, every node, every node of a role. */
  private readonly bases: [string, Set<string>][] = [];
  private readonly nodes: PlannedNode[];

  constructor(sides: readonly Side[]) {
    this.nodes = sides[sides.length - 1]?.plan.nodes ?? [];
    for (const s of sides) {
      if (!s.compiled) continue;
      for (const g of s.compiled.spec.groups) this.groups.push([g.name, s.compiled.policy.book.group(g.name)]);
    }
    this.bases.push(["every node", new Set(this.nodes.map((n) => n.name))], ...this.groups);
    for (const role of ["backend", "pop"]) this.bases.push([ROLE_WORDS[role] as string, new Set(this.nodes.filter((n) => n.role === role).map((n) => n.name))]);
  }

  name(members: readonly string[]): string {
    const set = new Set(members);
    const same = (other: Iterable<string>) => {
      const o = [...other];
      return o.length === set.size && o.every((n) => set.has(n));
    };
    const all = this.nodes.map((n) => n.name);
    if (same(all)) return "every node";
    const group = this.groups.find(([, m]) => same(m));
    if (group) return group[0];
    if (members.length === 1) return members[0] as string;
    const ofRole = (role: string, area?: string) => this.nodes.filter((n) => n.role === role && (area === undefined || n.area === area)).map((n) => n.name);
    for (const role of ["backend", "pop", "hub"]) {
      if (same(ofRole(role))) return ROLE_WORDS[role] as string;
      for (const area of new Set(this.nodes.map((n) => n.area))) if (same(ofRole(role, area))) return `${area} ${ROLE_WORDS[role]}`;
    }
    for (const area of new Set(this.nodes.map((n) => n.area))) if (same(this.nodes.filter((n) => n.area === area).map((n) => n.name))) return `${area} nodes`;
    // A known set but a few: "backends but nrt, sin and syd".
    let best: { name: string; left: string[] } | undefined;
    for (const [name, base] of this.bases) {
      if (!members.every((m) => base.has(m))) continue;
      const left = [...base].filter((n) => !set.has(n));
      if (left.length === 0 || left.length > 3 || members.length < 2 * left.length) continue;
      if (!best || left.length < best.left.length) best = { name, left };
    }
    if (best) return `${best.name} but ${best.left.length === 1 ? best.left[0] : `${best.left.slice(0, -1).join(", ")} and ${best.left.at(-1)}`}`;
    return members.length > 6 ? `${members.slice(0, 6).join(", ")} and ${members.length - 6} more` : members.join(", ");
  }
}

/**
 * Pairs with the same change, merged into lines. A node is never paired with itself, so a source's
 * destinations are keyed with the source added: the members of a group opening flows to each other
 * share one line ("backends -> backends"), whose pairs are those of distinct nodes.
 */
function groupLines(now: FlowChange["now"], changes: Map<string, [string, string][]>, namer: Namer): FlowChange[] {
  const out: FlowChange[] = [];
  for (const [services, pairs] of changes) {
    // Grouped by source and by destination; whichever says it in fewer lines.
    const bySource = merge(pairs);
    const byTarget = merge(pairs.map(([a, b]) => [b, a])).map((e) => ({ ...e, from: e.to, to: e.from }));
    const best = byTarget.length < bySource.length ? byTarget : bySource;
    for (const e of best) out.push({ now, from: namer.name(e.from), to: namer.name(e.to), services, pairs: e.pairs });
  }
  return out.sort((x, y) => y.pairs - x.pairs || (x.from < y.from ? -1 : x.from > y.from ? 1 : x.to < y.to ? -1 : 1));
}

/** Sources with the same destinations (each counted with itself, see groupLines) as one entry. */
function merge(pairs: readonly (readonly [string, string])[]): { from: string[]; to: string[]; pairs: number }[] {
  const bySource = new Map<string, Set<string>>();
  for (const [a, b] of pairs) bySource.set(a, (bySource.get(a) ?? new Set()).add(b));
  const byTargets = new Map<string, { from: string[]; to: Set<string>; pairs: number }>();
  for (const [a, tos] of bySource) {
    const key = [...new Set([...tos, a])].sort().join(",");
    const entry = byTargets.get(key) ?? { from: [], to: new Set([...tos, a]), pairs: 0 };
    entry.from.push(a);
    entry.pairs += tos.size;
    byTargets.set(key, entry);
  }
  // One source: its destinations without itself.
  return [...byTargets.values()].map((e) => ({ from: e.from, to: e.from.length === 1 ? [...e.to].filter((x) => x !== e.from[0]) : [...e.to], pairs: e.pairs }));
}

function rulesetTexts(s: Side): Map<string, string> {
  return renderAccessRulesets(s.plan);
}

/** Undefined when neither side declares a policy. `basePairs`/`headPairs`: each side's simulated pairs, with paths. */
export function diffAccess(basePlan: MeshPlan, headPlan: MeshPlan, basePairs: readonly PathOfPair[], headPairs: readonly PathOfPair[]): AccessDiff | undefined {
  if (!basePlan.spec.access && !headPlan.spec.access) return undefined;
  const base = side(basePlan, basePairs);
  const head = side(headPlan, headPairs);
  const namer = new Namer([base, head]);
  const opened = new Map<string, [string, string][]>();
  const closed = new Map<string, [string, string][]>();
  const baseNames = new Set(basePlan.nodes.map((n) => n.name));
  for (const a of headPlan.nodes) {
    for (const b of headPlan.nodes) {
      if (a === b) continue;
      const after = allowedOn(head, a.name, b.name);
      if (!after) continue;
      const existed = baseNames.has(a.name) && baseNames.has(b.name);
      const before = existed ? (allowedOn(base, a.name, b.name) ?? { tcp: [], udp: [], icmp: false, other: false }) : { tcp: [], udp: [], icmp: false, other: false };
      const more = subtract(after, before);
      const less = subtract(before, after);
      if (!isEmpty(more)) opened.set(formatSet(more), [...(opened.get(formatSet(more)) ?? []), [a.name, b.name]]);
      if (!isEmpty(less)) closed.set(formatSet(less), [...(closed.get(formatSet(less)) ?? []), [a.name, b.name]]);
    }
  }
  const flows = [...groupLines("allowed", opened, namer), ...groupLines("denied", closed, namer)];

  const before = rulesetTexts(base);
  const after = rulesetTexts(head);
  const rulesets = {
    changed: [...after.keys()].filter((n) => before.has(n) && before.get(n) !== after.get(n)),
    added: [...after.keys()].filter((n) => !before.has(n)),
    removed: [...before.keys()].filter((n) => !after.has(n) && headPlan.nodes.some((x) => x.name === n)),
  };

  let failingTests: TestResult[] = [];
  if (head.compiled) {
    const evaluator = new AccessEvaluator(headPlan, head.compiled);
    for (const p of headPairs) evaluator.onPair(p);
    failingTests = evaluator.report().tests.filter((t) => t.failures > 0);
  }
  const policy = !basePlan.spec.access ? "added" : !headPlan.spec.access ? "removed" : JSON.stringify(basePlan.spec.access) === JSON.stringify(headPlan.spec.access) ? "unchanged" : "changed";
  const changed = policy !== "unchanged" || flows.length > 0 || rulesets.changed.length + rulesets.added.length + rulesets.removed.length > 0;
  return { changed, policy, flows, rulesets, failingTests };
}

/** The diff's access section as lines (text; the Markdown form escapes them). */
export function accessDiffLines(d: AccessDiff): string[] {
  const out: string[] = [];
  const policy = { added: "policy added: what no rule allows is now dropped", removed: "policy removed: every node reaches every other on every port again", changed: "policy changed", unchanged: "policy unchanged" }[d.policy];
  out.push(`Access: ${policy}`);
  if (d.flows.length === 0) out.push("  no flow is opened or closed");
  for (const f of d.flows.slice(0, FLOW_LINES)) out.push(`  now ${f.now}: ${f.from} -> ${f.to}: ${f.services}${f.pairs > 1 ? ` (${f.pairs} ordered pairs)` : ""}`);
  if (d.flows.length > FLOW_LINES) out.push(`  and ${d.flows.length - FLOW_LINES} more lines (wgmesh diff --json has them all)`);
  const r = d.rulesets;
  const names = (list: readonly string[]) => (list.length > 10 ? `${list.slice(0, 10).join(", ")} and ${list.length - 10} more` : list.join(", "));
  const parts = [
    ...(r.changed.length > 0 ? [`${r.changed.length} change (${names(r.changed)})`] : []),
    ...(r.added.length > 0 ? [`${r.added.length} loaded (${names(r.added)})`] : []),
    ...(r.removed.length > 0 ? [`${r.removed.length} removed (${names(r.removed)})`] : []),
  ];
  if (parts.length > 0) out.push(`  rulesets: ${parts.join("; ")}: in place by wgmesh-firewall (apply: nft -f, one transaction; remove: the table is deleted), no tunnel restart`);
  for (const t of d.failingTests) {
    out.push(`  FAILED access.tests[${t.index}] ${t.text}: ${t.failures} flow${t.failures === 1 ? "" : "s"}`);
    for (const f of t.examples) out.push(`    ${f.from} -> ${f.to} ${f.service}: expected ${f.expected}, ${f.found}`);
  }
  return out;
}
