/**
 * The gate in front of every deployment: the plan must exist and every ordered pair must be
 * reachable in the simulator. Failures are RunErrors, which Pulumi prints as their message
 * alone: one line per problem, no stack trace.
 */
import { MeshRunError } from "./errors";
import { MeshConfigError, type MeshPlan, type MeshSpec } from "../infra/model";
import { issueLines } from "../infra/problem-lines";
import { planMesh } from "../infra/plan";
import { simulatePlanFailures, simulatePlanSummary } from "../infra/simulate/plan";
import { resilienceProblems, type ResilienceReport } from "../infra/simulate/resilience";
import { pairProblemLine, summaryLine } from "../infra/simulate/lint";
import type { SimulationSummary } from "../infra/simulate";
import { accessTestRefusals } from "../infra/access/report";

export interface ProvenPlan {
  plan: MeshPlan;
  /** Counts and the unreachable pairs only: every pair's path, kept, would grow with the square of the mesh. */
  report: SimulationSummary;
  /** Every single node and link failure walked on the plan's files (a few pairs listed per failure). */
  resilience: ResilienceReport;
}

/** Pairs named one per line before the rest are counted. */
const LISTED_FAILURES = 50;

export function configErrorLines(err: MeshConfigError, where: string): string {
  const n = err.issues.length;
  return [...issueLines(err.issues), `${n} problem${n === 1 ? "" : "s"} in ${where}; nothing was deployed`].join("\n");
}

/** A MeshConfigError as a RunError (one line per issue); anything else as it is. */
export function asRunError(err: unknown, where: string): unknown {
  return err instanceof MeshConfigError ? new MeshRunError(configErrorLines(err, where)) : err;
}

/** `simulator` is the real one except in tests of this gate itself. */
export function provePlan(spec: MeshSpec, simulator: (plan: MeshPlan) => SimulationSummary = (p) => simulatePlanSummary(p, { maxFailures: LISTED_FAILURES })): ProvenPlan {
  let plan: MeshPlan;
  try {
    plan = planMesh(spec);
  } catch (err) {
    throw asRunError(err, "the mesh plan");
  }
  const report = simulator(plan);
  const lines = report.failures.map(pairProblemLine);
  if (report.failuresOmitted > 0) lines.push(`and ${report.failuresOmitted} more unreachable pairs`);
  if (report.reachable < report.total) {
    throw new MeshRunError([...lines, `${summaryLine(report)} in the simulator; nothing was deployed (run wgmesh plan to see every path)`].join("\n"));
  }
  // The access policy's own tests (infra/access), held on every simulated path like reachability.
  const failing = accessTestRefusals(plan);
  if (failing.length > 0) throw new MeshRunError([...failing, "the access policy's tests fail in the simulator; nothing was deployed (run wgmesh plan to see them)"].join("\n"));
  const resilience = simulatePlanFailures(plan, { listed: 5 });
  // A mesh that asks for resilience is never deployed half-resilient without saying so.
  const half = resilienceProblems(resilience, spec.resilience === "node");
  if (half.length > 0) throw new MeshRunError([...half.map((p) => `${p.path}: ${p.message}`), `${half.length} single failures would lose pairs; nothing was deployed (run wgmesh plan to see them)`].join("\n"));
  return { plan, report, resilience };
}
