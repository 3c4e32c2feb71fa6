/**
 * auto against the greedy spanner it starts from, on the same generated mesh and bound:
 * the textbook greedy (no peer limit) and its bounded-degree variant (maxPeers), planned
 * with exactly their links so the same yardstick measures all three.
 */
import { parseMeshConfig } from "../infra/config";
import { latencyModelFor } from "../infra/latency/model";
import type { MeshPlan } from "../infra/model";
import { planMesh } from "../infra/plan";
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
}

export function compareWithGreedy(nodes: number, opts: Omit<WorldMeshOptions, "topology"> = {}): ComparisonRow[] {
  const maxPeers = opts.maxPeers ?? 16;
  const maxStretch = opts.maxStretch ?? 1.3;
  const spec = parseMeshConfig(worldMeshConfig(nodes, { ...opts, topology: "auto" }));
  const model = latencyModelFor(spec);
  const sited = spec.nodes.map((n) => ({ name: n.name, site: n.site, public: !(n.cloud === "external" && !n.external?.endpoint) }));
  const row = (design: ComparisonRow["design"], plan: MeshPlan, ms: number): ComparisonRow => ({
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
    out.push(row(design, planMesh(spec, { checkSizes: false, links: links.map((l) => ({ a: l.a, b: l.b, weight: l.rttMs })) }), ms));
  }
  return out;
}
