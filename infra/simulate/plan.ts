/**
 * A plan proven in the simulator: every node's config rendered with throw-away keys and
 * offline endpoints, then walked. Shared by `wgmesh plan` and the stack program, which
 * refuses to deploy a plan that is not fully reachable.
 */
import type { MeshPlan } from "../model";
import { offlineEndpoints, renderAll, throwAwayKeys } from "../render/mesh";
import { parseWgQuick } from "../wgquick";
import { pairProblemLine } from "./lint";
import { simulate } from "./simulate";
import type { SimulationReport } from "./types";

export function simulatePlan(plan: MeshPlan): SimulationReport {
  const texts = renderAll(plan, throwAwayKeys(plan), offlineEndpoints(plan));
  const configs = new Map(Object.entries(texts).map(([n, t]) => [n, parseWgQuick(t, `${n}/wg0.conf`)]));
  return simulate(configs);
}

/** One line per ordered pair the simulation could not carry; empty when all are reachable. */
export function unreachableLines(report: SimulationReport): string[] {
  return report.pairs.filter((p) => !p.reachable).map(pairProblemLine);
}
