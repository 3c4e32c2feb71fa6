/**
 * What keeping nodes from carrying transit costs under `topology: auto`: the same declaration
 * planned again with every public node allowed to forward (nodes behind NAT never can), and the
 * two latency reports side by side. The restriction binds when that plan would forward through a
 * node this one may not use. Planning twice doubles the work, so above a size it is not done, and
 * the report says so.
 */
import type { LatencyReport, MeshPlan, MeshSpec } from "../model";
import { planMesh } from "./index";
import { behindNat, mayCarryTransit } from "./transit";

/** Above this many nodes the unrestricted plan is not made: it would double `wgmesh plan`'s time. */
export const TRANSIT_COST_MAX_NODES = 400;

export interface LatencyFigures {
  withinBound: number;
  pairs: number;
  median: number;
  p90: number;
  max: number;
}

export interface TransitCost {
  /** Nodes with a public endpoint that may not forward (by their role or their own transit: false). */
  kept: string[];
  /** False when the mesh is above TRANSIT_COST_MAX_NODES and the other plan was not made. */
  compared: boolean;
  /** Of `kept`, those the unrestricted plan would forward through: the restriction binds when there are any. */
  wouldForward: string[];
  /** This plan's figures, and the unrestricted plan's. */
  here?: LatencyFigures;
  unrestricted?: LatencyFigures;
}

function figures(r: LatencyReport | undefined): LatencyFigures | undefined {
  return r ? { withinBound: r.withinBound, pairs: r.pairs, median: r.stretch.median, p90: r.stretch.p90, max: r.stretch.max } : undefined;
}

/** The declaration with every public node allowed to carry transit. */
export function unrestrictedTransit(spec: MeshSpec): MeshSpec {
  return { ...spec, transitRoles: ["hub", "pop", "backend"], nodes: spec.nodes.map(({ transit: _transit, ...node }) => node) };
}

/**
 * Under topology auto, with some public node kept from forwarding: whether that binds, and what it
 * costs in stretch and pairs within the bound. Undefined for other topologies (their links do not
 * depend on who forwards) and when every public node may forward anyway.
 */
export function transitCost(plan: MeshPlan, maxNodes = TRANSIT_COST_MAX_NODES): TransitCost | undefined {
  const spec = plan.spec;
  if (spec.topology !== "auto") return undefined;
  const kept = spec.nodes.filter((n) => !behindNat(n) && !mayCarryTransit(n, spec)).map((n) => n.name);
  if (kept.length === 0) return undefined;
  if (spec.nodes.length > maxNodes) return { kept, compared: false, wouldForward: [] };
  const free = planMesh(unrestrictedTransit(spec), { checkSizes: false });
  const keptSet = new Set(kept);
  const wouldForward = free.nodes.filter((n) => n.forwarding && keptSet.has(n.name)).map((n) => n.name);
  const here = figures(plan.latency);
  const unrestricted = figures(free.latency);
  return { kept, compared: true, wouldForward, ...(here ? { here } : {}), ...(unrestricted ? { unrestricted } : {}) };
}
