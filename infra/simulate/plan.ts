/**
 * A plan proven in the simulator: every node's config rendered with throw-away keys and
 * offline endpoints, then walked. Shared by `wgmesh plan` and the stack program, which
 * refuses to deploy a plan that is not fully reachable.
 */
import type { MeshPlan, WgQuickConfig } from "../model";
import { FAILOVER_FILE, parseFailover, type FailoverTable } from "../failover/format";
import { offlineEndpoints, renderAll, renderAllFailover, throwAwayKeys, type MeshKeys } from "../render/mesh";
import { simulateFailures } from "./failures";
import { resilienceReport, type ResilienceReport } from "./resilience";
import { parseWgQuick } from "../wgquick";
import { pairProblemLine } from "./lint";
import { simulate, simulateSummary, type SummaryOptions } from "./simulate";
import type { SimulationReport, SimulationSummary } from "./types";

interface Rendered {
  configs: Map<string, WgQuickConfig>;
  publicKeys: Map<string, string>;
  failover: Map<string, FailoverTable>;
}

/** The plan's configs (and failover tables) as files would hold them, and each key pair as generated (derived once). */
function renderedConfigs(plan: MeshPlan): Rendered {
  const keys: MeshKeys = throwAwayKeys(plan);
  const texts = renderAll(plan, keys, offlineEndpoints(plan));
  // A Map: node names are the user's, and "__proto__" is one an object would swallow.
  const configs = new Map(Object.entries(texts).map(([n, t]) => [n, parseWgQuick(t, `${n}/wg0.conf`)]));
  const publicKeys = new Map(Object.entries(keys.privateKeys).map(([node, key]) => [key, keys.publicKeys[node] as string]));
  const failover = new Map(Object.entries(renderAllFailover(plan, keys)).map(([n, t]) => [n, parseFailover(t, `${n}/${FAILOVER_FILE}`)]));
  return { configs, publicKeys, failover };
}

/** Every single node and link failure walked on the plan's files, failover tables included. */
export function simulatePlanFailures(plan: MeshPlan, options: { listed?: number } = {}): ResilienceReport {
  const { configs, publicKeys, failover } = renderedConfigs(plan);
  return resilienceReport(plan, simulateFailures(configs, failover, { publicKeys, ...options }));
}

export function simulatePlan(plan: MeshPlan): SimulationReport {
  const { configs, publicKeys } = renderedConfigs(plan);
  return simulate(configs, { publicKeys });
}

/** The same proof keeping only counts and unreachable pairs, for plans of thousands of nodes. */
export function simulatePlanSummary(plan: MeshPlan, options: Omit<SummaryOptions, "publicKeys"> = {}): SimulationSummary {
  const { configs, publicKeys } = renderedConfigs(plan);
  return simulateSummary(configs, { ...options, publicKeys });
}

/** One line per ordered pair the simulation could not carry; empty when all are reachable. */
export function unreachableLines(report: SimulationReport): string[] {
  return report.pairs.filter((p) => !p.reachable).map(pairProblemLine);
}
