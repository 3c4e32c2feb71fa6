/**
 * `npm run bench`: the prod stack's lab from nothing to every ordered pair reachable on real
 * WireGuard (needs root; said loudly and skipped otherwise), larger hub-and-spoke labs, and the
 * engine (plan, render, simulate) on synthetic meshes of 100, 300 and 1000 nodes.
 * BENCH_RUNS=N repeats the prod lab N times (default 3).
 */
import { simulate } from "../infra/simulate";
import { configsFromPlan } from "../lab/from-plan";
import { labBlocker } from "../lab/preflight";
import { loadStack } from "../workspace/project";
import { benchEngine, engineCases, formatEngineResults } from "./engine";
import { benchLab, benchMesh, formatLabResults, type LabBenchResult } from "./lab";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
}

async function labSection(): Promise<void> {
  const blocker = labBlocker();
  if (blocker) {
    process.stdout.write(`\n*** lab bench SKIPPED: ${blocker} ***\n`);
    return;
  }
  const { plan } = loadStack("prod");
  const results: LabBenchResult[] = [];
  let planned = "";
  for (let i = 0; i < RUNS; i++) {
    const input = configsFromPlan(plan);
    const sim = simulate(input.configs);
    planned = `${sim.reachable} of ${sim.total}`;
    results.push(await benchLab(`prod #${i + 1}`, input.configs));
  }
  for (const n of [24, 48]) results.push(await benchLab(`hub+${n - 1}`, benchMesh(n)));
  const prod = results.filter((r) => r.label.startsWith("prod"));
  const allReached = prod.every((r) => r.reachable === r.pairs);
  const times = prod.map((r) => r.allReachableMs / 1000);
  process.stdout.write(`\nLab on real WireGuard (wireguard-go in network namespaces)\n${formatLabResults(results)}\n\n`);
  process.stdout.write(
    `prod lab: nothing to ${allReached ? "every" : "NOT every"} pair reachable (${prod[0]?.reachable} of ${prod[0]?.pairs}; plan: ${planned}) ` +
      `in ${median(times).toFixed(2)}s (median of ${prod.length}; ${Math.min(...times).toFixed(2)}-${Math.max(...times).toFixed(2)}s)\n`,
  );
  if (!allReached) process.exitCode = 1;
}

function engineSection(): void {
  process.stdout.write("\nEngine: plan + render + simulate on synthetic meshes (bench/scale-mesh.ts), one run each\n");
  const results = engineCases([100, 300, 1000]).map(([n, t]) => {
    const r = benchEngine(n, t);
    if (r.reachable !== r.pairs) process.exitCode = 1;
    return r;
  });
  process.stdout.write(`${formatEngineResults(results)}\n`);
}

labSection()
  .then(engineSection)
  .catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
