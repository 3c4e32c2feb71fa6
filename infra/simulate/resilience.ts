/**
 * A plan's resilience: every single node and link failure walked on the plan's rendered files
 * (failures.ts), with each rerouted pair's round trip and stretch from the latency model, and the
 * failures that lose pairs named. What `wgmesh plan` summarises in one line and `--json` holds whole.
 */
import { latencyModelFor } from "../latency/model";
import type { MeshPlan } from "../model";
import { ADDITIVE_SLACK_MS } from "../plan/auto/bound";
import { linkId } from "../plan/topology";
import type { Failure, FailureOutcome } from "./failures";

/** The default bound on a failover path: twice the direct round trip (or direct + 5 ms). */
export const DEFAULT_FAILOVER_MAX_STRETCH = 2.0;

export interface ReroutedPair {
  from: string;
  to: string;
  path: string[];
  /** Sum of the path's link weights (the model's round trips). */
  pathMs: number;
  directMs?: number;
  stretch?: number;
}

/** A failure's outcome in the simulator's counts, with its label, stretch and pairs as the plan reports them. */
export interface FailureReport extends Pick<FailureOutcome, "failure" | "switched" | "pairs" | "primary" | "rerouted" | "lost" | "lostOthers"> {
  /** "ireland down", "hkg--nrt cut". */
  label: string;
  /** The most stretched rerouted pair, when the model knows both sites. */
  maxStretch?: number;
  /** Rerouted pairs over the failover bound. */
  overBound: number;
  reroutedPairs: ReroutedPair[];
  lostPairs: { from: string; to: string }[];
}

export interface ResilienceReport {
  /** "node" when the plan ships failover tables, "none" when a failure waits for a redeploy. */
  mode: "none" | "node";
  nodes: { total: number; survived: number };
  links: { total: number; survived: number };
  bound: { maxStretch: number; slackMs: number };
  failures: FailureReport[];
  /** Failures that lose pairs, most pairs first: the mesh's single points of failure. */
  singlePoints: { label: string; failure: Failure; lost: number }[];
  /** The failure that costs most: most pairs lost, else most rerouted, else most stretched. */
  worst?: FailureReport;
}

export function failureLabel(f: Failure): string {
  return f.kind === "node" ? `${f.node} down` : `${linkId(f.a, f.b)} cut`;
}

export function resilienceReport(plan: MeshPlan, outcomes: readonly FailureOutcome[]): ResilienceReport {
  const model = latencyModelFor(plan.spec);
  const site = new Map(plan.nodes.map((x) => [x.name, x.site]));
  const weight = new Map(plan.links.map((l) => [l.id, l.weight]));
  const bound = { maxStretch: plan.spec.failoverMaxStretch ?? DEFAULT_FAILOVER_MAX_STRETCH, slackMs: ADDITIVE_SLACK_MS };
  const failures = outcomes.map((o): FailureReport => {
    let maxStretch: number | undefined;
    let overBound = 0;
    const rerouted = o.reroutedPairs.map((p): ReroutedPair => {
      const pathMs = p.path.slice(1).reduce((sum, b, i) => sum + (weight.get(linkId(p.path[i] as string, b)) ?? NaN), 0);
      const directMs = model.rttMs(site.get(p.from) as string, site.get(p.to) as string);
      const out: ReroutedPair = { ...p, pathMs: round(pathMs) };
      if (directMs !== undefined && directMs > 0 && Number.isFinite(pathMs)) {
        out.directMs = round(directMs);
        out.stretch = round(pathMs / directMs);
        maxStretch = Math.max(maxStretch ?? 0, out.stretch);
        if (pathMs > Math.max(bound.maxStretch * directMs, directMs + bound.slackMs)) overBound++;
      }
      return out;
    });
    return {
      failure: o.failure,
      label: failureLabel(o.failure),
      switched: o.switched,
      pairs: o.pairs,
      primary: o.primary,
      rerouted: o.rerouted,
      lost: o.lost,
      lostOthers: o.lostOthers,
      ...(maxStretch !== undefined ? { maxStretch } : {}),
      overBound,
      reroutedPairs: rerouted,
      lostPairs: o.lostPairs,
    };
  });
  const count = (kind: Failure["kind"]) => {
    const of = failures.filter((f) => f.failure.kind === kind);
    return { total: of.length, survived: of.filter((f) => f.lost === 0).length };
  };
  const singlePoints = failures
    .filter((f) => f.lost > 0)
    .map((f) => ({ label: f.label, failure: f.failure, lost: f.lost }))
    .sort((p, q) => q.lost - p.lost || (p.label < q.label ? -1 : 1));
  const worst = [...failures].sort((p, q) => q.lost - p.lost || q.rerouted - p.rerouted || (q.maxStretch ?? 0) - (p.maxStretch ?? 0) || (p.label < q.label ? -1 : 1))[0];
  return {
    mode: plan.resilience ? "node" : "none",
    nodes: count("node"),
    links: count("link"),
    bound,
    failures,
    singlePoints,
    ...(worst && (worst.lost > 0 || worst.rerouted > 0) ? { worst } : {}),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** `single failures: 33 of 33 survived; worst: ireland down, 110 pairs rerouted, max stretch 1.9`. */
export function resilienceLine(r: ResilienceReport): string {
  const total = r.nodes.total + r.links.total;
  const survived = r.nodes.survived + r.links.survived;
  const parts = [`single failures: ${survived} of ${total} survived (nodes ${r.nodes.survived} of ${r.nodes.total}, links ${r.links.survived} of ${r.links.total})`];
  const w = r.worst;
  if (w) {
    const what = w.lost > 0 ? `${w.lost} of ${w.pairs} pairs lost` : `${w.rerouted} pairs rerouted`;
    parts.push(`worst: ${w.label}, ${what}${w.maxStretch !== undefined ? `, max stretch ${w.maxStretch.toFixed(2)}` : ""}`);
  }
  if (r.mode === "none" && r.singlePoints.length > 0) parts.push("no failover: lost pairs wait for a redeploy (resilience: node fixes that)");
  return parts.join("; ");
}

/**
 * A mesh that asks for resilience and does not have it is refused: one problem per single node
 * failure that loses pairs (the layout should make none; this is the proof that it did).
 */
export function resilienceProblems(r: ResilienceReport, asked: boolean): { path: string; message: string }[] {
  if (!asked) return [];
  return r.failures
    .filter((f) => f.failure.kind === "node" && f.lost > 0)
    .map((f) => ({
      path: "resilience",
      message: `node is declared, but ${f.label} would lose ${f.lost} of ${f.pairs} pairs (${f.lostPairs
        .slice(0, 3)
        .map((p) => `${p.from} -> ${p.to}`)
        .join(", ")}${f.lost > 3 ? ", ..." : ""}) in the simulator; link those nodes to a second core node or let another node carry transit`,
    }));
}
