/**
 * `npm run bench`: the package as users run it (the CLI's start, a plan of prod, the component plugin
 * serving its schema), the engine (validate, plan, render, simulate every ordered pair) on prod and
 * on generated world meshes of 100, 1,000 and 5,000 nodes under each topology, auto against
 * the greedy spanner, `wgmesh synth` at 100 and 1,000 nodes, and the lab on real WireGuard at
 * 12 and 100 nodes (root only; said loudly and skipped otherwise). Prints a compact table with
 * the targets, and writes the same as JSON (--out, default out/bench.json).
 *
 *   npm run bench                 the full set, by hand (several minutes)
 *   npm run bench -- --set ci     the smaller set CI runs
 */
import { cpus, loadavg } from "node:os";
import { configsFromPlan } from "../lab/from-plan";
import { labBlocker } from "../lab/preflight";
import { parseMeshConfig } from "../infra/config";
import type { TopologyMode } from "../infra/model";
import { planMesh } from "../infra/plan";
import { loadStack } from "../workspace/project";
import { compareWithGreedy, type ComparisonRow } from "./compare";
import { formatEngineTable, runEngineCaseIsolated, table, type EngineCase, type EngineOutcome } from "./engine";
import { benchLab, formatLabResults, type LabBenchResult } from "./lab";
import { benchFailover, type FailoverBench } from "./failover";

const secs = (v: number): string => `${(v / 1000).toFixed(1)} s`;
import { benchPackage, median } from "./package";
import { OutputRefused, writeBenchJson } from "./output";
import { benchSynth, type SynthFigures } from "./synth";
import { worldMeshConfig } from "./world-mesh";

interface BenchSet {
  engine: EngineCase[];
  comparison: { nodes: number; maxPeers?: number }[];
  synth: number[];
  lab: ("prod" | number)[];
  /** Seconds of lossy steady state after the failover runs; 0 skips the failover bench. */
  failoverSteadySeconds: number;
}

const all = (mesh: string, topologies: TopologyMode[]): EngineCase[] => topologies.map((topology) => ({ mesh, topology }));
/**
 * resilience: node. Its routers form a clique, so a core node has (routers - 1) + 2 x (others / routers)
 * peers, and its entry holds wg0.conf and its failover table: a fleet with a POP in every metro (the
 * generated meshes' ~90 at 200 nodes and more) is more core than an Azure Key Vault secret holds.
 * These are the largest generated shapes that fit (docs/failover.md, "How large").
 */
const RESILIENT: EngineCase[] = [
  { mesh: "prod", topology: "regional", resilience: "node" },
  { mesh: "prod", topology: "auto", resilience: "node" },
  { mesh: "200", topology: "regional", resilience: "node", routerMetros: 10 },
  { mesh: "200", topology: "auto", resilience: "node", routerMetros: 12, maxPeers: 64 },
];

const SETS: Record<string, BenchSet> = {
  ci: {
    engine: [...all("prod", ["hub", "regional", "full", "auto"]), ...all("100", ["hub", "regional", "auto"]), ...all("1000", ["auto"]), ...RESILIENT.slice(0, 2)],
    comparison: [{ nodes: 100, maxPeers: 6 }],
    synth: [100],
    lab: ["prod"],
    failoverSteadySeconds: 0,
  },
  full: {
    engine: [
      ...all("prod", ["hub", "regional", "full", "auto"]),
      ...all("100", ["hub", "regional", "full", "auto"]),
      ...all("1000", ["hub", "regional", "auto"]),
      ...all("5000", ["hub", "regional", "auto"]),
      ...RESILIENT,
    ],
    comparison: [{ nodes: 100 }, { nodes: 100, maxPeers: 6 }, { nodes: 300 }, { nodes: 300, maxPeers: 8 }, { nodes: 1000 }],
    synth: [100, 1000],
    lab: ["prod", 100],
    failoverSteadySeconds: 300,
  },
};

interface Target {
  what: string;
  measured: string;
  limit: string;
  met: boolean | undefined;
}

function args(): { set: string; out: string } {
  const argv = process.argv.slice(2);
  const value = (flag: string, fallback: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 && argv[i + 1] ? (argv[i + 1] as string) : fallback;
  };
  const set = value("--set", "full");
  if (!(set in SETS)) throw new Error(`--set ${set}: the sets are ${Object.keys(SETS).join(", ")}`);
  return { set, out: value("--out", "out/bench.json") };
}

function engineTargets(outcomes: readonly EngineOutcome[]): Target[] {
  const find = (mesh: string) => outcomes.find((o) => o.case.mesh === mesh && o.case.topology === "auto");
  const out: Target[] = [];
  // Plan, render, simulate and every single failure walked: 1,000 nodes within 5 s and 1 GB.
  for (const [mesh, seconds, mb] of [
    ["1000", 5, 1024],
    ["5000", 60, 3072],
  ] as const) {
    const o = find(mesh);
    if (!o) continue;
    if ("error" in o) {
      out.push({ what: `${mesh} nodes auto: validate + plan + render + simulate`, measured: `FAILED: ${o.error}`, limit: `${seconds} s, ${mb} MB`, met: false });
      continue;
    }
    const r = o.result;
    out.push({ what: `${mesh} nodes auto: validate + plan + render + simulate + single failures, wall`, measured: `${(r.totalMs / 1000).toFixed(2)} s (cpu ${(r.totalCpuMs / 1000).toFixed(2)} s)`, limit: `${seconds} s`, met: r.totalMs <= seconds * 1000 });
    out.push({ what: `${mesh} nodes auto: peak memory`, measured: `${r.peakMb} MB`, limit: `${mb} MB`, met: r.peakMb <= mb });
    out.push({ what: `${mesh} nodes auto: pairs within the bound`, measured: `${r.latency?.withinBound ?? 0} of ${r.latency?.pairs ?? 0}`, limit: "all", met: r.latency?.misses === 0 });
  }
  return out;
}

async function labSection(set: BenchSet): Promise<{ results: LabBenchResult[]; skipped?: string }> {
  if (set.lab.length === 0) return { results: [] };
  const blocker = labBlocker();
  if (blocker) return { results: [], skipped: blocker };
  const results: LabBenchResult[] = [];
  for (const which of set.lab) {
    const plan = which === "prod" ? loadStack("prod").plan : planMesh(parseMeshConfig(worldMeshConfig(which, { topology: "auto" })));
    results.push(await benchLab(which === "prod" ? "prod (regional)" : `${which} auto`, configsFromPlan(plan).configs, plan));
  }
  return { results };
}

function comparisonTable(rows: readonly ComparisonRow[]): string {
  const header = ["nodes", "design", "maxPeers", "links", "peers max", "within bound", "max stretch", "time"];
  return table([
    header,
    ...rows.map((r) => [
      String(r.nodes),
      r.design,
      String(r.maxPeers),
      String(r.links),
      `${r.peersMax}${r.peersMax > r.maxPeers ? " OVER" : ""}`,
      r.connected ? `${((100 * r.withinBound) / Math.max(1, r.pairs)).toFixed(2)}%` : "not connected",
      r.stretchMax.toFixed(2),
      `${r.ms}ms`,
    ]),
  ]);
}

async function main(): Promise<void> {
  const { set: setName, out } = args();
  const set = SETS[setName] as BenchSet;
  const startedAt = new Date().toISOString();
  const loadStart = loadavg();
  const say = (text: string) => process.stdout.write(`${text}\n`);
  say(`wg-mesh bench, set ${setName}: ${cpus().length} CPUs, load average ${loadStart.map((l) => l.toFixed(1)).join(" ")} at start`);

  say("\nThe package as built (dist/): each command a process of its own; the plugin as Pulumi's language host starts it");
  const pkg = await benchPackage();
  const ms = (xs: readonly number[]) => `${(median(xs) / 1000).toFixed(2)} s (${xs.map((x) => (x / 1000).toFixed(2)).join(", ")})`;
  say(table([["what", "median (runs)"], ["wgmesh --version", ms(pkg.versionMs)], ["wgmesh plan --stack prod", ms(pkg.planProdMs)], ["plugin: start to schema served", ms(pkg.pluginSchemaMs)]]));

  say("\nEngine: validate (YAML) + plan + render (throw-away keys) + simulate every ordered pair; each case in its own process");
  const engine: EngineOutcome[] = [];
  for (const c of set.engine) engine.push(runEngineCaseIsolated(c));
  say(formatEngineTable(engine));

  const comparison: ComparisonRow[] = [];
  if (set.comparison.length > 0) {
    say("\nauto against the greedy spanner (same generated mesh, bound x1.3 or +5 ms)");
    for (const c of set.comparison) comparison.push(...compareWithGreedy(c.nodes, { natShare: 0.1, ...(c.maxPeers ? { maxPeers: c.maxPeers } : {}) }));
    say(comparisonTable(comparison));
  }

  const synth: SynthFigures[] = [];
  if (set.synth.length > 0) {
    say("\nwgmesh synth (the stack program under Pulumi's mocks), default heap");
    for (const n of set.synth) synth.push(benchSynth(n, 600_000));
    say(table([["nodes", "result", "time", "peak"], ...synth.map((s) => [String(s.nodes), s.ok ? `ok, ${s.resources ?? "?"} resources` : `FAILED: ${s.failure}`, `${s.seconds.toFixed(1)}s`, `${s.peakMb}MB`])]));
  }

  const lab = await labSection(set);
  if (lab.skipped) say(`\n*** lab bench SKIPPED: ${lab.skipped} ***`);
  else if (lab.results.length > 0) say(`\nLab on real WireGuard (wireguard-go in network namespaces)\n${formatLabResults(lab.results)}`);

  let failover: FailoverBench | undefined;
  if (set.failoverSteadySeconds > 0 && !lab.skipped) {
    failover = await benchFailover(set.failoverSteadySeconds);
    const f = failover;
    say(`\nFailover on real WireGuard (${f.mesh}): ${f.failures.join(", ")} with every pair pinging; then ${f.steady.seconds} s at ${f.steady.lossRate * 100}% underlay loss`);
    say(table([["recoveries", "p50", "p99", "max", "not recovered", "back on planned paths", "steady-state switches"], [String(f.recoveries), secs(f.recoveryMs.p50), secs(f.recoveryMs.p99), secs(f.recoveryMs.max), String(f.notRecovered), f.backOnPrimaryMs.map(secs).join(", "), String(f.steady.switches)]]));
  }

  const targets: Target[] = [
    { what: "wgmesh --version (built package), median", measured: `${(median(pkg.versionMs) / 1000).toFixed(2)} s`, limit: "0.3 s", met: median(pkg.versionMs) <= 300 },
    { what: "wgmesh plan --stack prod (built package), median", measured: `${(median(pkg.planProdMs) / 1000).toFixed(2)} s`, limit: "1 s", met: median(pkg.planProdMs) <= 1000 },
    { what: "component plugin: start to schema served, median", measured: `${(median(pkg.pluginSchemaMs) / 1000).toFixed(2)} s`, limit: "5 s", met: median(pkg.pluginSchemaMs) <= 5000 },
    ...engineTargets(engine),
  ];
  if (failover) {
    targets.push({ what: "failover: every surviving pair answers again", measured: `max ${secs(failover.recoveryMs.max)}, ${failover.notRecovered} not recovered`, limit: "10 s", met: failover.recoveryMs.max <= 10_000 && failover.notRecovered === 0 });
    targets.push({ what: "failover: back on the planned paths after the return", measured: failover.backOnPrimaryMs.map(secs).join(", "), limit: "60 s", met: failover.backOnPrimaryMs.every((b) => b <= 60_000) });
    targets.push({ what: `failover: switches in ${failover.steady.seconds} s of steady state at 5% loss`, measured: String(failover.steady.switches), limit: "0", met: failover.steady.switches === 0 });
  }
  const lab100 = lab.results.find((r) => r.nodes === 100);
  if (lab100) targets.push({ what: "lab, 100 nodes: every ordered pair pinged", measured: `${(lab100.firstMatrixMs / 1000).toFixed(1)} s (${lab100.reachable} of ${lab100.pairs}, ${lab100.offPlan ?? "?"} off plan)`, limit: "30 s", met: lab100.firstMatrixMs <= 30_000 && lab100.reachable === lab100.pairs && lab100.offPlan === 0 });
  for (const s of synth) targets.push({ what: `synth, ${s.nodes} nodes, default heap`, measured: s.ok ? `${s.seconds.toFixed(1)} s, ${s.peakMb} MB` : `FAILED (${s.failure})`, limit: "completes", met: s.ok });
  const loadEnd = loadavg();
  say(`\nTargets (load average ${loadEnd.map((l) => l.toFixed(1)).join(" ")} at the end; other load on the machine slows wall times)`);
  say(table([["target", "measured", "limit", ""], ...targets.map((t) => [t.what, t.measured, t.limit, t.met === undefined ? "" : t.met ? "met" : "NOT MET"])]));

  const file = writeBenchJson(out, { set: setName, startedAt, machine: { cpus: cpus().length, loadAverageStart: loadStart, loadAverageEnd: loadEnd }, package: pkg, engine, comparison, synth, lab, ...(failover ? { failover } : {}), targets });
  say(`\nwrote ${file}`);
  if (engine.some((o) => "error" in o || o.result.reachable !== o.result.total)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof OutputRefused || err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
