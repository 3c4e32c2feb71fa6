/**
 * One engine case of the bench, run in a fresh process so its time and peak memory are its
 * own: a mesh declared as YAML (prod with another topology, or a generated world mesh),
 * validated, planned, rendered with throw-away keys and simulated on every ordered pair.
 * Prints one JSON document. Usage: tsx bench/engine-case.ts <nodes|prod> <topology> [node [ROUTER_METROS [MAX_PEERS]]]
 * (`node` declares `resilience: node`; a generated mesh then has POPs in ROUTER_METROS metros only).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { loadStackConfig } from "../infra/config";
import type { TopologyMode } from "../infra/model";
import { planMesh } from "../infra/plan";
import { configSizes } from "../infra/plan/sizes";
import { parseFailover } from "../infra/failover/format";
import { offlineEndpoints, renderAll, renderAllFailover, throwAwayKeys } from "../infra/render/mesh";
import { simulateFailures } from "../infra/simulate/failures";
import { simulateSummary } from "../infra/simulate";
import { parseWgQuick } from "../infra/wgquick";
import { worldMeshConfig } from "./world-mesh";

export interface StageFigures {
  ms: number;
  /** CPU time (user + system) of the stage, which other load on the machine changes less than wall time. */
  cpuMs: number;
  /** Peak resident memory of the process so far, MB. */
  peakMb: number;
}

export interface EngineCaseResult {
  mesh: string;
  nodes: number;
  topology: TopologyMode;
  resilience?: "node";
  stages: { validate: StageFigures; plan: StageFigures; render: StageFigures; simulate: StageFigures; resilience: StageFigures };
  /** validate + plan + render + simulate + resilience (every single node and link failure). */
  totalMs: number;
  totalCpuMs: number;
  peakMb: number;
  links: number;
  peers: { max: number; median: number };
  /** Largest wg0.conf per cloud against its vault's limit. */
  configBytes: Record<string, { bytes: number; node: string; limit: number; label: string }>;
  overLimit: number;
  latency?: { median: number; p99: number; max: number; withinBound: number; pairs: number; misses: number };
  /** Single failures walked: how many of each kind leave every surviving pair reachable. */
  failures: { nodes: number; nodesSurvived: number; links: number; linksSurvived: number };
  reachable: number;
  total: number;
}

/** How a resilient case is declared: its routers' metros and maxPeers (a generated mesh only). */
export interface ResilientShape {
  routerMetros?: number;
  maxPeers?: number;
}

function yamlOf(mesh: string, topology: TopologyMode, resilience: "node" | undefined, shape: ResilientShape): { text: string; nodes: number } {
  if (mesh === "prod") {
    const text = readFileSync(join(__dirname, "..", "Pulumi.prod.yaml"), "utf8").replace(/topology: regional/, `topology: ${topology}${resilience ? `\n    resilience: ${resilience}` : ""}`);
    return { text, nodes: 12 };
  }
  const nodes = Number(mesh);
  return { text: stringify({ config: { "wg-mesh:mesh": worldMeshConfig(nodes, { topology, ...(resilience ? { resilience, ...shape } : {}) }) } }), nodes };
}

export function runEngineCase(mesh: string, topology: TopologyMode, resilience?: "node", shape: ResilientShape = {}): EngineCaseResult {
  const { text, nodes } = yamlOf(mesh, topology, resilience, shape);
  const peak = () => Math.round(process.resourceUsage().maxRSS / 1024);
  const timed = <T>(fn: () => T): [T, StageFigures] => {
    const start = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    const value = fn();
    const used = process.cpuUsage(cpu);
    return [value, { ms: Number(process.hrtime.bigint() - start) / 1e6, cpuMs: (used.user + used.system) / 1000, peakMb: peak() }];
  };
  const [spec, validate] = timed(() => loadStackConfig(text, `${mesh}.yaml`));
  const [plan, planned] = timed(() => planMesh(spec, { checkSizes: false }));
  const [rendered, render] = timed(() => {
    const keys = throwAwayKeys(plan);
    return { keys, texts: renderAll(plan, keys, offlineEndpoints(plan)) };
  });
  const configs = Object.fromEntries(Object.entries(rendered.texts).map(([n, t]) => [n, parseWgQuick(t, `${n}/wg0.conf`)]));
  const publicKeys = new Map(Object.entries(rendered.keys.privateKeys).map(([n, k]) => [k, rendered.keys.publicKeys[n] as string]));
  const [summary, simulate] = timed(() => simulateSummary(configs, { publicKeys, maxFailures: 10 }));
  const [failures, walk] = timed(() => {
    const tables = new Map(Object.entries(renderAllFailover(plan, rendered.keys)).map(([n, t]) => [n, parseFailover(t, `${n}/failover.conf`)]));
    const outcomes = simulateFailures(configs, tables, { publicKeys, listed: 5 });
    const of = (kind: "node" | "link") => outcomes.filter((o) => o.failure.kind === kind);
    return { nodes: of("node").length, nodesSurvived: of("node").filter((o) => o.lost === 0).length, links: of("link").length, linksSurvived: of("link").filter((o) => o.lost === 0).length };
  });
  const peers = plan.nodes.map((n) => n.peers.length).sort((a, b) => a - b);
  const sizes = configSizes(plan);
  const configBytes: EngineCaseResult["configBytes"] = {};
  for (const node of plan.nodes) {
    const s = sizes.find((x) => x.node === node.name);
    if (!s?.limit) continue;
    const best = configBytes[node.cloud];
    if (!best || s.bytes > best.bytes) configBytes[node.cloud] = { bytes: s.bytes, node: s.node, limit: s.limit.bytes, label: s.limit.label };
  }
  const r = plan.latency;
  return {
    mesh,
    nodes,
    topology,
    ...(resilience ? { resilience } : {}),
    stages: { validate, plan: planned, render, simulate, resilience: walk },
    totalMs: validate.ms + planned.ms + render.ms + simulate.ms + walk.ms,
    totalCpuMs: validate.cpuMs + planned.cpuMs + render.cpuMs + simulate.cpuMs + walk.cpuMs,
    peakMb: peak(),
    links: plan.links.length,
    peers: { max: peers.at(-1) ?? 0, median: peers[Math.floor((peers.length - 1) / 2)] ?? 0 },
    configBytes,
    overLimit: sizes.filter((s) => s.limit && s.bytes > s.limit.bytes).length,
    ...(r ? { latency: { median: r.stretch.median, p99: r.stretch.p99, max: r.stretch.max, withinBound: r.withinBound, pairs: r.pairs, misses: r.misses } } : {}),
    failures,
    reachable: summary.reachable,
    total: summary.total,
  };
}

if (require.main === module) {
  const [mesh, topology, resilience, routerMetros, maxPeers] = process.argv.slice(2);
  const shape = { ...(routerMetros ? { routerMetros: Number(routerMetros) } : {}), ...(maxPeers ? { maxPeers: Number(maxPeers) } : {}) };
  process.stdout.write(`${JSON.stringify(runEngineCase(mesh ?? "100", (topology ?? "auto") as TopologyMode, resilience === "node" ? "node" : undefined, shape))}\n`);
}
