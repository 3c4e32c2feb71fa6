/**
 * The lab's WAN against the latency model: the relay delays each link by the model's round
 * trip (times --scale), so a pair's measured overlay round trip should be its planned path's
 * round trip in the model, times the scale, plus what forwarding and the relay add. The pairs
 * that differ most say where the model and a real WireGuard mesh part ways.
 */
import { latencyModelFor, type LatencyModel } from "../infra/latency/model";
import type { MeshPlan } from "../infra/model";
import { ADDITIVE_SLACK_MS, DEFAULT_MAX_STRETCH } from "../infra/plan/auto";
import { pairLatency, routeSites } from "../infra/plan/latency";
import type { LatencyTable } from "./latency";
import type { PingMatrix } from "./ping";

/** The model's round trip for every pair of the given sites (a site with itself included), as the relay takes them. */
export function modelLatencyTable(model: LatencyModel, sites: readonly string[]): LatencyTable {
  const codes = [...new Set(sites)].sort();
  const rttMs = new Map<string, number>();
  for (const a of codes) {
    for (const b of codes) {
      if (a > b) continue;
      const ms = model.rttMs(a, b);
      if (ms !== undefined) rttMs.set(`${a}-${b}`, ms);
    }
  }
  return { label: "the latency model (measured tables, then great-circle estimates)", rttMs };
}

export interface RttComparison {
  from: string;
  to: string;
  path: string[];
  /** What the lab measured, in lab milliseconds (scaled). */
  measuredMs: number;
  /** The planned path's round trip in the model, times the scale. */
  modelMs: number;
  differenceMs: number;
}

export interface ModelComparison {
  scale: number;
  pairs: RttComparison[];
  /** Largest |difference| first. */
  largest?: RttComparison;
  medianAbsDifferenceMs: number;
}

export function compareWithModel(plan: MeshPlan, matrix: PingMatrix, scale: number): ModelComparison {
  const sites = routeSites(plan.spec.nodes, plan.routes, latencyModelFor(plan.spec));
  const bound = { maxStretch: plan.spec.maxStretch ?? DEFAULT_MAX_STRETCH, slackMs: ADDITIVE_SLACK_MS };
  const pairs: RttComparison[] = [];
  for (const p of matrix.pairs) {
    if (!p.reachable || p.rttMs === undefined) continue;
    const l = pairLatency(plan.routes, sites, bound, p.from, p.to);
    if (!l) continue;
    const modelMs = l.pathMs * scale;
    pairs.push({ from: p.from, to: p.to, path: l.path, measuredMs: p.rttMs, modelMs, differenceMs: p.rttMs - modelMs });
  }
  pairs.sort((a, b) => Math.abs(b.differenceMs) - Math.abs(a.differenceMs) || (a.from < b.from ? -1 : a.from > b.from ? 1 : a.to < b.to ? -1 : 1));
  const abs = pairs.map((p) => Math.abs(p.differenceMs)).sort((a, b) => a - b);
  return { scale, pairs, ...(pairs[0] ? { largest: pairs[0] } : {}), medianAbsDifferenceMs: abs.length ? (abs[Math.floor((abs.length - 1) / 2)] as number) : 0 };
}

const ms = (v: number) => `${v.toFixed(1)} ms`;

export function formatModelComparison(c: ModelComparison, listed = 10): string[] {
  if (c.pairs.length === 0) return ["Measured against the model: no pair with a measured round trip"];
  const line = (p: RttComparison) => `  ${p.from} -> ${p.to}: measured ${ms(p.measuredMs)}, model ${ms(p.modelMs)} (${p.differenceMs >= 0 ? "+" : ""}${ms(p.differenceMs)}) over ${p.path.join(" -> ")}`;
  const largest = c.largest as RttComparison;
  return [
    `Measured against the model (x${c.scale} of its round trips): ${c.pairs.length} pairs, median difference ${ms(c.medianAbsDifferenceMs)}`,
    ...c.pairs.slice(0, listed).map(line),
    `largest difference: ${largest.from} -> ${largest.to}, ${largest.differenceMs >= 0 ? "+" : ""}${ms(largest.differenceMs)} (measured ${ms(largest.measuredMs)}, model ${ms(largest.modelMs)})`,
  ];
}
