/**
 * What a change does to the mesh's resilience: every single failure on both sides, matched by
 * name, judged on the pairs that exist on both sides (a new node's own pairs are new, not lost).
 * A failure that now loses such a pair it did not lose is less resilience; one that cut none of them
 * and now cuts some (a node, or a link, that other pairs depend on) is a new single point of
 * failure: the first thing a reviewer should read. Needs the reports' whole lists of lost pairs.
 */
import type { FailureReport, ResilienceReport } from "../simulate/resilience";

export interface ResilienceShift {
  label: string;
  before: number;
  after: number;
}

export interface ResilienceChange {
  before: { nodes: string; links: string; mode: string };
  after: { nodes: string; links: string; mode: string };
  /** Failures that now cut pairs between other nodes and cut none before (or did not exist). */
  newSinglePoints: ResilienceShift[];
  /** Failures that lose more pairs than before (new single points included). */
  worse: ResilienceShift[];
  /** Failures that lose fewer. */
  better: ResilienceShift[];
  lessResilient: boolean;
}

const counts = (r: ResilienceReport) => ({ nodes: `${r.nodes.survived} of ${r.nodes.total}`, links: `${r.links.survived} of ${r.links.total}`, mode: r.mode });

export function resilienceChange(base: ResilienceReport, head: ResilienceReport, nodesOnBothSides: ReadonlySet<string>): ResilienceChange {
  const lostOld = (f: FailureReport | undefined): Set<string> => {
    const out = new Set<string>();
    for (const p of f?.lostPairs ?? []) if (nodesOnBothSides.has(p.from) && nodesOnBothSides.has(p.to)) out.add(`${p.from}>${p.to}`);
    return out;
  };
  const was = new Map(base.failures.map((f) => [f.label, f]));
  const worse: ResilienceShift[] = [];
  const better: ResilienceShift[] = [];
  const newSinglePoints: ResilienceShift[] = [];
  for (const f of head.failures) {
    const before = lostOld(was.get(f.label));
    const after = lostOld(f);
    const added = [...after].filter((k) => !before.has(k)).length;
    if (added > 0) {
      worse.push({ label: f.label, before: before.size, after: after.size });
      if (before.size === 0) newSinglePoints.push({ label: f.label, before: 0, after: after.size });
    } else if (after.size < before.size) better.push({ label: f.label, before: before.size, after: after.size });
  }
  const order = (p: ResilienceShift, q: ResilienceShift) => q.after - q.before - (p.after - p.before) || (p.label < q.label ? -1 : 1);
  return {
    before: counts(base),
    after: counts(head),
    newSinglePoints: newSinglePoints.sort(order),
    worse: worse.sort(order),
    better: better.sort(order),
    lessResilient: worse.length > 0,
  };
}

/** The review's first line when the change makes the mesh less resilient; undefined otherwise. */
export function resilienceWarning(c: ResilienceChange): string | undefined {
  if (c.newSinglePoints.length > 0) {
    const first = c.newSinglePoints.slice(0, 3).map((s) => `${s.label} would lose ${s.after} pairs that survive it today`);
    return `new single point${c.newSinglePoints.length === 1 ? "" : "s"} of failure: ${first.join("; ")}${c.newSinglePoints.length > 3 ? `; and ${c.newSinglePoints.length - 3} more` : ""}`;
  }
  if (c.worse.length > 0) {
    const first = c.worse.slice(0, 3).map((s) => `${s.label} would lose ${s.after} of today's pairs (${s.before} today)`);
    return `less resilient: ${first.join("; ")}${c.worse.length > 3 ? `; and ${c.worse.length - 3} more` : ""}`;
  }
  return undefined;
}
