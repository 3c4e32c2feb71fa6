/**
 * auto against the greedy spanner it starts from, on the same generated mesh and bound:
 * the textbook greedy (no peer limit) and its bounded-degree variant (maxPeers), planned
 * with exactly their links so the same yardstick measures all three.
 */
import { parseMeshConfig } from "../infra/config";
import { latencyModelFor } from "../infra/latency/model";
import { MeshConfigError, type MeshPlan, type MeshSpec } from "../infra/model";
import { planMesh } from "../infra/plan";
import { behindNat, mayCarryTransit } from "../infra/plan/transit";
import { greedySpanner } from "./greedy-spanner";
import { worldMeshConfig, type WorldMeshOptions } from "./world-mesh";

export interface ComparisonRow {
  nodes: number;
  maxPeers: number;
  maxStretch: number;
  design: "auto" | "greedy" | "greedy, maxPeers";
  links: number;
  peersMax: number;
  withinBound: number;
  pairs: number;
  stretchMax: number;
  ms: number;
  /** False when the design's links leave some node with no path (only transit nodes relay). */
  connected: boolean;
}

/** The plan with exactly these links, or undefined when they leave some node with no path. */
export function planConnected(spec: MeshSpec, links: readonly { a: string; b: string; rttMs: number }[]): MeshPlan | undefined {
  try {
    return planMesh(spec, { checkSizes: false, links: links.map((l) => ({ a: l.a, b: l.b, weight: l.rttMs })) });
  } catch (err) {
    if (err instanceof MeshConfigError && err.issues.some((i) => i.path === "topology" && / has no path to /.test(i.message))) return undefined;
    throw err;
  }
}

export function compareWithGreedy(nodes: number, opts: Omit<WorldMeshOptions, "topology"> = {}): ComparisonRow[] {
  const maxPeers = opts.maxPeers ?? 16;
  const maxStretch = opts.maxStretch ?? 1.3;
  const spec = parseMeshConfig(worldMeshConfig(nodes, { ...opts, topology: "auto" }));
  const model = latencyModelFor(spec);
  const sited = spec.nodes.map((n) => ({ name: n.name, site: n.site, public: !behindNat(n), transit: mayCarryTransit(n, spec) }));
  const row = (design: ComparisonRow["design"], plan: MeshPlan | undefined, ms: number, links = 0): ComparisonRow =>
    plan ? planned(design, plan, ms) : { nodes, maxPeers, maxStretch, design, links, peersMax: 0, withinBound: 0, pairs: nodes * (nodes - 1), stretchMax: 0, ms, connected: false };
  const planned = (design: ComparisonRow["design"], plan: MeshPlan, ms: number): ComparisonRow => ({
    nodes,
    maxPeers,
    maxStretch,
    design,
    links: plan.links.length,
    peersMax: Math.max(...plan.nodes.map((n) => n.peers.length)),
    withinBound: plan.latency?.withinBound ?? 0,
    pairs: plan.latency?.pairs ?? 0,
    stretchMax: plan.latency?.stretch.max ?? 0,
    ms,
    connected: true,
  });
  const timed = <T>(fn: () => T): [T, number] => {
    const start = Date.now();
    return [fn(), Date.now() - start];
  };
  const [auto, autoMs] = timed(() => planMesh(spec, { checkSizes: false }));
  const out = [row("auto", auto, autoMs)];
  for (const [design, cap] of [
    ["greedy", undefined],
    ["greedy, maxPeers", maxPeers],
  ] as const) {
    const [links, ms] = timed(() => greedySpanner(sited, model, { maxStretch, slackMs: 5 }, cap));
    out.push(row(design, planConnected(spec, links), ms, links.length));
  }
  return out;
}
