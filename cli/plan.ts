/**
 * `wgmesh plan`: validate, plan, render with throw-away keys, simulate, and show it all:
 * nodes and peers, latency (every pair's path against its direct round trip), and for small
 * meshes or with --pairs every ordered pair. Large meshes get counts and the pairs that
 * matter, not a line per pair: a thousand nodes are a million pairs.
 */
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { latencyModelFor } from "../infra/latency/model";
import { formatBytes } from "../infra/limits";
import { TOPOLOGIES, type LatencyReport, type MeshPlan, type NodeSpec, type PairLatency, type TopologyMode } from "../infra/model";
import { planMesh } from "../infra/plan";
import { ADDITIVE_SLACK_MS, DEFAULT_MAX_PEERS, DEFAULT_MAX_STRETCH } from "../infra/plan/auto";
import { pairLatency, routeSites, type RouteSites } from "../infra/plan/latency";
import { configSizes } from "../infra/plan/sizes";
import { behindNat, transitPermission } from "../infra/plan/transit";
import { TRANSIT_COST_MAX_NODES, transitCost, type LatencyFigures, type TransitCost } from "../infra/plan/transit-cost";
import { transitReport, type TransitReport } from "../infra/mesh-report";
import { summaryLine, type PairResult, type SimulationSummary } from "../infra/simulate";
import { simulatePlanFailures, simulatePlanSummary } from "../infra/simulate/plan";
import { resilienceLine, resilienceProblems, type FailureReport, type ResilienceReport } from "../infra/simulate/resilience";
import { placementOf } from "../infra/render/wgquick";
import { explainRotation } from "../infra/rotation";
import { meshCost } from "../infra/cost";
import { formatCost } from "./cost";
import { UserError } from "../infra/errors";
import { ACCESS_TEST_FAILED_EXIT, accessSection } from "../infra/access";
import { action } from "./errors";
import { loadStack } from "../workspace/project";
import { printWarnings } from "./warnings";
import { OutputWriter } from "./writer";

/** Up to this many nodes every node, peer and ordered pair is listed; above, --pairs asks for the pairs. */
export const LIST_ALL_UP_TO = 20;
/** Pairs a comparison lists without --pairs: the ones it changes most. */
const COMPARE_LISTED = 20;

export interface PlanCommandOptions {
  stack: string;
  json?: boolean;
  pairs?: boolean;
  compare?: TopologyMode;
  diagram?: string;
  map?: string;
  mermaid?: boolean;
  rotation?: boolean;
  cost?: boolean;
}

/** A plan and how to read latency off it. */
interface Planned {
  plan: MeshPlan;
  sites: RouteSites;
}

function planned(plan: MeshPlan): Planned {
  return { plan, sites: routeSites(plan.spec.nodes, plan.routes, latencyModelFor(plan.spec)) };
}

const ms = (v: number): string => (v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`);
const x = (v: number): string => `x${v.toFixed(2)}`;
const arrow = (path: readonly string[]): string => path.join(" -> ");

function boundOfPlan(plan: MeshPlan): { maxStretch: number; slackMs: number } {
  return { maxStretch: plan.spec.maxStretch ?? DEFAULT_MAX_STRETCH, slackMs: ADDITIVE_SLACK_MS };
}

function latencyOf(p: Planned, from: string, to: string): PairLatency | undefined {
  return pairLatency(p.plan.routes, p.sites, boundOfPlan(p.plan), from, to);
}

function pairLine(pair: PairResult, main: Planned, other?: Planned): string {
  if (!pair.reachable) {
    const f = pair.failure;
    return `  ${pair.from} -> ${pair.to}: UNREACHABLE: ${f ? `${f.direction === "reply" ? "reply " : ""}dropped at ${f.at}: ${f.reason}` : "(details only for the first unreachable pairs)"}`;
  }
  let line = `  ${pair.from} -> ${pair.to}: ${arrow(pair.path)}${pair.path.length === 2 ? " (direct)" : ""}`;
  const l = latencyOf(main, pair.from, pair.to);
  if (l) line += `  ${ms(l.pathMs)}, direct ${ms(l.directMs)}, ${x(l.stretch)}`;
  if (other) {
    const o = latencyOf(other, pair.from, pair.to);
    if (o) line += `; ${other.plan.spec.topology}: ${arrow(o.path)} ${ms(o.pathMs)}, ${x(o.stretch)}`;
  }
  return line;
}

/** Whether the other topology sends the pair the same way (known only where the model has figures for it). */
function samePath(pair: PairResult, main: Planned, other: Planned): boolean {
  const here = latencyOf(main, pair.from, pair.to);
  const there = latencyOf(other, pair.from, pair.to);
  return here !== undefined && there !== undefined && arrow(here.path) === arrow(there.path);
}

function sourcesText(r: LatencyReport): string {
  const named: Record<string, string> = { config: "stack config", "azure-2025": "Azure 2025 table", "aws-2023": "AWS 2023 table", "same-site": "same site", estimate: "great-circle estimate" };
  return Object.entries(r.sources)
    .filter(([, n]) => n > 0)
    .map(([source, n]) => `${count(n)} ${named[source] ?? source}`)
    .join(", ");
}

function distributionLine(r: LatencyReport): string {
  return `stretch (overlay / direct): median ${r.stretch.median.toFixed(2)}, p90 ${r.stretch.p90.toFixed(2)}, p99 ${r.stretch.p99.toFixed(2)}, max ${r.stretch.max.toFixed(2)}`;
}

const count = (n: number): string => formatBytes(n);

function boundLine(r: LatencyReport): string {
  return `${count(r.aboveTwice)} of ${count(r.pairs)} pairs above x2; ${count(r.withinBound)} of ${count(r.pairs)} within x${r.bound.maxStretch} or +${r.bound.slackMs} ms of direct`;
}

export function latencyLines(plan: MeshPlan): string[] {
  const r = plan.latency;
  if (!r) return ["", "Latency: the model places none of the nodes' sites; use known site codes or declare them under latency.sites"];
  const out = ["", `Latency (overlay = the path's links summed; direct round trips: ${sourcesText(r)})`, `  ${distributionLine(r)}`, `  ${boundLine(r)}`];
  if (r.unknown > 0) out.push(`  ${r.unknown} pairs without figures: a site the model cannot place`);
  out.push("  worst pairs (most of their bound used):");
  for (const w of r.worst) out.push(`    ${w.from} -> ${w.to}: ${arrow(w.path)}  ${ms(w.pathMs)}, direct ${ms(w.directMs)}, ${x(w.stretch)}`);
  if (plan.spec.topology === "auto") {
    if (r.misses === 0) out.push(`  every pair within the bound (maxStretch ${r.bound.maxStretch}, +${r.bound.slackMs} ms)`);
    else {
      out.push(`  ${count(r.misses)} pairs over the bound, largest first${r.misses > r.missed.length ? ` (${r.missed.length} listed)` : ""}:`);
      for (const m of r.missed) out.push(`    ${m.from} -> ${m.to}: ${arrow(m.path)}  ${ms(m.pathMs)}, bound ${ms(m.boundMs)} (direct ${ms(m.directMs)}): ${ms(m.pathMs - m.boundMs)} over`);
    }
  }
  return out;
}

function nodeLines(plan: MeshPlan, listAll: boolean): string[] {
  const sizes = configSizes(plan);
  const largest = [...sizes].sort((a, b) => b.bytes - a.bytes || (a.node < b.node ? -1 : 1))[0];
  const peerCounts = plan.nodes.map((n) => n.peers.length).sort((a, b) => a - b);
  const busiest = [...plan.nodes].sort((a, b) => b.peers.length - a.peers.length || (a.name < b.name ? -1 : 1))[0];
  const summary = [
    `  peers per node: max ${peerCounts.at(-1) ?? 0}${busiest ? ` (${busiest.name})` : ""}, median ${peerCounts[Math.floor((peerCounts.length - 1) / 2)] ?? 0}; ${plan.nodes.filter((n) => n.forwarding).length} nodes forward`,
    ...(largest ? [`  largest vault entry: ${formatBytes(largest.bytes)} bytes (${largest.node}; wg0.conf ${formatBytes(largest.config)} bytes)${largest.limit ? `, limit ${formatBytes(largest.limit.bytes)} (${largest.limit.label})` : ""}`] : []),
  ];
  const maxPeers = plan.spec.maxPeers ?? DEFAULT_MAX_PEERS;
  const over = plan.spec.topology === "auto" ? plan.nodes.filter((n) => n.peers.length > maxPeers) : [];
  if (over.length > 0) summary.push(`  ${over.length} nodes above maxPeers ${maxPeers} (${over.slice(0, 5).map((n) => `${n.name} ${n.peers.length}`).join(", ")}${over.length > 5 ? ", ..." : ""}): nothing else connects the mesh`);
  if (!listAll) {
    const roles = ["hub", "pop", "backend"].map((r) => `${plan.nodes.filter((n) => n.role === r).length} ${r}`).join(", ");
    return ["", `Nodes: ${plan.nodes.length} (${roles}); listed with --pairs or up to ${LIST_ALL_UP_TO} nodes`, ...summary];
  }
  const out = ["", "Nodes"];
  const w = Math.max(...plan.nodes.map((n) => n.name.length));
  for (const n of plan.nodes) {
    const where = placementOf(plan, n.name);
    out.push(`  ${n.name.padEnd(w)}  ${n.role.padEnd(7)}  ${`${n.cloud} ${where}`.padEnd(26)}  ${n.interfaceAddress.padEnd(18)}  ${n.forwarding ? "forwards" : ""}`.trimEnd());
  }
  out.push(...summary);
  out.push("", "Peers");
  for (const n of plan.nodes) {
    out.push(`  ${n.name}`);
    for (const p of n.peers) out.push(`    ${p.name.padEnd(w)}  AllowedIPs = ${p.allowedIps.join(", ")}${p.dialsPeer ? "" : "   (no Endpoint: it dials in)"}`);
  }
  return out;
}

/** Pairs shown per forwarding node; the count is whole. */
const TRANSIT_EXAMPLES_SHOWN = 3;

const fig = (f: LatencyFigures): string => `${count(f.withinBound)} of ${count(f.pairs)} pairs within the bound, stretch median ${f.median.toFixed(2)}, p90 ${f.p90.toFixed(2)}, max ${f.max.toFixed(2)}`;

/** Who may not forward, by what decides it. */
function keptLine(plan: MeshPlan): string | undefined {
  const byRole = new Map<string, number>();
  const byNode: string[] = [];
  let natted = 0;
  for (const n of plan.spec.nodes) {
    const p = transitPermission(n, plan.spec);
    if (p.may) continue;
    if (p.by === "nat") natted++;
    else if (p.by === "node") byNode.push(n.name);
    else byRole.set(n.role, (byRole.get(n.role) ?? 0) + 1);
  }
  const roles = plan.spec.transitRoles ? `transitRoles: ${plan.spec.transitRoles.join(", ")}` : "by default only hub and pop nodes do";
  const parts = [
    ...[...byRole].map(([role, k]) => `${count(k)} ${role}${k === 1 ? "" : "s"} (${roles})`),
    ...(byNode.length > 0 ? [`${byNode.slice(0, 5).join(", ")}${byNode.length > 5 ? ` and ${byNode.length - 5} more` : ""} (their own transit: false)`] : []),
    ...(natted > 0 ? [`${count(natted)} behind NAT (never)`] : []),
  ];
  return parts.length > 0 ? `  may not forward: ${parts.join("; ")}` : undefined;
}

function costLines(cost: TransitCost | undefined, plan: MeshPlan): string[] {
  if (!cost) return [];
  if (!cost.compared) {
    const here = plan.latency ? `; this plan: ${fig({ withinBound: plan.latency.withinBound, pairs: plan.latency.pairs, median: plan.latency.stretch.median, p90: plan.latency.stretch.p90, max: plan.latency.stretch.max })}` : "";
    return [`  what keeping ${count(cost.kept.length)} public nodes from forwarding costs under auto is not computed above ${TRANSIT_COST_MAX_NODES} nodes (it plans the mesh twice)${here}`];
  }
  if (cost.wouldForward.length === 0) return [`  keeping ${count(cost.kept.length)} public nodes from forwarding costs nothing here: with every public node allowed, auto would not route through them`];
  const names = `${cost.wouldForward.slice(0, 5).join(", ")}${cost.wouldForward.length > 5 ? ` and ${cost.wouldForward.length - 5} more` : ""}`;
  const out = [`  the restriction binds: with every public node allowed to forward, auto would route through ${count(cost.wouldForward.length)} of them (${names})`];
  if (cost.here && cost.unrestricted) out.push(`    this plan:        ${fig(cost.here)}`, `    every public node: ${fig(cost.unrestricted)}`);
  return out;
}

/** Every node that forwards, why it may, and which pairs cross it; then who may not, and under auto what that costs. */
export function transitLines(plan: MeshPlan, report: { [node: string]: TransitReport } = transitReport(plan), cost: TransitCost | undefined = transitCost(plan)): string[] {
  const forwarding = plan.nodes.filter((n) => n.forwarding);
  const out = ["", `Transit: ${count(forwarding.length)} of ${count(plan.nodes.length)} nodes forward others' traffic`];
  const w = Math.max(0, ...forwarding.map((n) => n.name.length));
  const byName = new Map(plan.spec.nodes.map((n) => [n.name, n]));
  for (const n of [...forwarding].sort((a, b) => (report[b.name]?.pairs ?? 0) - (report[a.name]?.pairs ?? 0) || (a.name < b.name ? -1 : 1))) {
    const r = report[n.name] ?? { pairs: 0, examples: [] };
    const spec = byName.get(n.name);
    const why = spec ? transitPermission(spec, plan.spec).why : "";
    const e = r.examples.slice(0, TRANSIT_EXAMPLES_SHOWN).join(", ");
    out.push(`  ${n.name.padEnd(w)}  ${n.role.padEnd(7)}  ${count(r.pairs)} ordered pairs cross it${e ? `, e.g. ${e}` : ""}; ${why}`);
  }
  const kept = keptLine(plan);
  if (kept) out.push(kept);
  out.push(...costLines(cost, plan));
  return out;
}

/** The same as JSON: each forwarding node's pairs (count and a few) and why it may; what the restriction costs. */
function transitJson(plan: MeshPlan, report: { [node: string]: TransitReport }, cost: TransitCost | undefined): unknown {
  const byName = new Map(plan.spec.nodes.map((n) => [n.name, n]));
  return {
    forwarding: Object.fromEntries(
      plan.nodes
        .filter((n) => n.forwarding)
        .map((n) => [n.name, { pairs: report[n.name]?.pairs ?? 0, examples: (report[n.name]?.examples ?? []).slice(0, 10), why: transitPermission(byName.get(n.name) as NodeSpec, plan.spec).why }]),
    ),
    mayNot: Object.fromEntries(
      plan.spec.nodes.flatMap((n) => {
        const p = transitPermission(n, plan.spec);
        return p.may ? [] : [[n.name, { by: p.by, why: p.why, publicEndpoint: !behindNat(n) }]];
      }),
    ),
    ...(cost ? { cost } : {}),
  };
}

function headerLines(stack: string, plan: MeshPlan, listAll: boolean): string[] {
  const out = [`Stack ${stack}: ${plan.nodes.length} nodes, topology ${plan.spec.topology}, ${plan.links.length} links, MTU ${plan.mtu} (${plan.mtuReason})`];
  out.push(...nodeLines(plan, listAll));
  out.push(...transitLines(plan));
  if (plan.skippedLinks.length > 0 && (listAll || plan.spec.topology !== "auto")) {
    out.push("", "Links not made");
    const shown = listAll ? plan.skippedLinks : plan.skippedLinks.slice(0, COMPARE_LISTED);
    for (const s of shown) out.push(`  ${s.a} -- ${s.b}: ${s.reason}`);
    if (shown.length < plan.skippedLinks.length) out.push(`  and ${plan.skippedLinks.length - shown.length} more`);
  }
  out.push(...latencyLines(plan));
  return out;
}

/** The other topology side by side: its distribution, then the pairs it changes most (all of them with --pairs). */
function compareLines(main: Planned, other: Planned, listAll: boolean): string[] {
  const a = main.plan.latency;
  const b = other.plan.latency;
  const t = other.plan.spec.topology;
  if (!a || !b) return ["", `Compared with topology ${t}: no latency figures (the model places none of the sites)`];
  const maxPeers = (p: MeshPlan) => Math.max(...p.nodes.map((n) => n.peers.length));
  const out = [
    "",
    `Compared with topology ${t} (${other.plan.links.length} links, max ${maxPeers(other.plan)} peers per node; here ${main.plan.links.length} and ${maxPeers(main.plan)})`,
    `  ${t}: ${distributionLine(b)}`,
    `  ${t}: ${boundLine(b)}`,
  ];
  if (listAll) return out;
  // The pairs the other topology makes slowest against this plan, over the most stretched of both.
  const candidates = new Map<string, [string, string]>();
  for (const w of [...b.worst, ...a.worst]) candidates.set(`${w.from}\u0000${w.to}`, [w.from, w.to]);
  const rows = [...candidates.values()]
    .map(([from, to]) => ({ from, to, here: latencyOf(main, from, to), there: latencyOf(other, from, to) }))
    .filter((r) => r.here && r.there)
    .sort((p, q) => (q.there?.pathMs ?? 0) - (q.here?.pathMs ?? 0) - ((p.there?.pathMs ?? 0) - (p.here?.pathMs ?? 0)))
    .slice(0, COMPARE_LISTED);
  out.push("  pairs it changes most (every pair with --pairs):");
  for (const r of rows) {
    const h = r.here as PairLatency;
    const o = r.there as PairLatency;
    out.push(`    ${r.from} -> ${r.to}: ${arrow(h.path)} ${ms(h.pathMs)}; ${t}: ${arrow(o.path)} ${ms(o.pathMs)}; direct ${ms(h.directMs)}`);
  }
  return out;
}

function toJsonPair(p: PairResult, main: Planned, other?: Planned): unknown {
  const l = p.reachable ? latencyOf(main, p.from, p.to) : undefined;
  const o = p.reachable && other ? latencyOf(other, p.from, p.to) : undefined;
  return {
    from: p.from,
    to: p.to,
    reachable: p.reachable,
    path: p.path,
    returnPath: p.returnPath,
    ...(p.failure ? { failure: p.failure } : {}),
    ...(l ? { pathMs: l.pathMs, directMs: l.directMs, stretch: l.stretch } : {}),
    ...(o ? { compare: { topology: other?.plan.spec.topology, path: o.path, pathMs: o.pathMs, stretch: o.stretch } } : {}),
  };
}

/** Failures that lose pairs listed per kind before the rest are counted: for a small mesh, and a large one. */
const FAILURES_LISTED = 10;
const FAILURES_LISTED_LARGE = 3;

function failureLine(f: FailureReport): string {
  const examples = f.lostPairs.slice(0, 3).map((p) => `${p.from} -> ${p.to}`);
  return `    ${f.label}: ${count(f.lost)} of ${count(f.pairs)} pairs lost${examples.length > 0 ? ` (${examples.join(", ")}${f.lost > examples.length ? ", ..." : ""})` : ""}${f.rerouted > 0 ? `; ${count(f.rerouted)} rerouted` : ""}`;
}

export function resilienceLines(r: ResilienceReport, listed = FAILURES_LISTED): string[] {
  const out = [
    "",
    r.mode === "node"
      ? "Resilience (resilience: node: each neighbour of a failed node moves its prefixes by its failover table, in seconds)"
      : "Resilience (none declared: a failure's lost pairs wait for a redeploy; resilience: node makes the mesh repair itself)",
    `  ${resilienceLine(r)}`,
  ];
  if (r.mode === "node") {
    const rerouted = r.failures.filter((f) => f.rerouted > 0);
    const over = rerouted.reduce((n, f) => n + f.overBound, 0);
    const worst = Math.max(0, ...rerouted.map((f) => f.maxStretch ?? 0));
    if (rerouted.length > 0) {
      out.push(`  failover paths: worst stretch ${worst.toFixed(2)}; ${over === 0 ? "every rerouted pair" : `${count(over)} rerouted pairs not`} within x${r.bound.maxStretch} or +${r.bound.slackMs} ms of direct (failoverMaxStretch)`);
    }
  }
  for (const kind of ["node", "link"] as const) {
    const losing = r.failures.filter((f) => f.failure.kind === kind && f.lost > 0).sort((p, q) => q.lost - p.lost || (p.label < q.label ? -1 : 1));
    if (losing.length === 0) continue;
    out.push(`  ${kind === "node" ? "nodes" : "links"} whose failure loses pairs (${losing.length}):`);
    for (const f of losing.slice(0, listed)) out.push(failureLine(f));
    if (losing.length > listed) out.push(`    and ${losing.length - listed} more (--json lists them all)`);
  }
  return out;
}

export function planToJson(stack: string, plan: MeshPlan, summary: SimulationSummary, pairs: unknown[] | undefined, other?: MeshPlan, resilience?: ResilienceReport): unknown {
  return {
    stack,
    topology: plan.spec.topology,
    mtu: plan.mtu,
    mtuReason: plan.mtuReason,
    links: plan.links,
    skippedLinks: plan.skippedLinks,
    nodes: plan.nodes.map((n) => ({
      name: n.name,
      role: n.role,
      cloud: n.cloud,
      region: n.region,
      area: n.area,
      site: n.site,
      address: n.interfaceAddress,
      forwarding: n.forwarding,
      peers: n.peers.map((p) => ({ name: p.name, allowedIps: p.allowedIps, endpoint: p.dialsPeer })),
    })),
    ...(plan.latency ? { latency: plan.latency } : {}),
    transit: transitJson(plan, transitReport(plan), transitCost(plan)),
    ...(other ? { compare: { topology: other.spec.topology, links: other.links.length, ...(other.latency ? { latency: other.latency } : {}) } } : {}),
    ...(pairs ? { pairs } : { unreachable: summary.failures }),
    reachable: summary.reachable,
    total: summary.total,
    ...(plan.resilience ? { layout: plan.resilience, failover: Object.fromEntries(plan.nodes.filter((n) => n.failover).map((n) => [n.name, n.failover])) } : {}),
    ...(resilience ? { resilience } : {}),
  };
}

/** The drawing code (d3-geo, the world atlas), loaded only for a picture: most plans draw none. */
function pictures(): typeof import("../workspace/pictures") {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("../workspace/pictures") as typeof import("../workspace/pictures");
}

export function runPlanCommand(opts: PlanCommandOptions): number {
  if (opts.mermaid && opts.json) throw new UserError("--mermaid and --json both choose what is printed; use one");
  if (opts.rotation && (opts.mermaid || opts.json)) throw new UserError("--rotation chooses what is printed, as --mermaid and --json do; use one");
  if (opts.cost && (opts.rotation || opts.mermaid)) throw new UserError("--cost chooses what is printed, as --rotation and --mermaid do; use one");
  const draw = opts.diagram !== undefined || opts.map !== undefined || opts.mermaid ? pictures() : undefined;
  const targets = draw ? draw.checkPictureTargets({ diagram: opts.diagram, map: opts.map }) : [];
  const loaded = loadStack(opts.stack);
  printWarnings(loaded);
  const { plan } = loaded;
  // Everything is drawn before anything is written, so a failure leaves no picture half-made.
  const drawn = draw ? targets.map((t) => ({ ...t, svg: t.kind === "diagram" ? draw.diagramSvg(opts.stack, plan) : draw.mapSvg(opts.stack, plan) })) : [];
  for (const p of drawn) process.stderr.write(`${p.kind}: ${p.file} (${draw?.writePicture(p.file, p.svg)})\n`);
  if (opts.cost) {
    const cost = meshCost(plan.spec);
    process.stdout.write(opts.json ? `${JSON.stringify(cost, null, 2)}\n` : `${formatCost(opts.stack, cost).join("\n")}\n`);
    const summary = simulatePlanSummary(plan, { maxFailures: 0 });
    return summary.reachable === summary.total ? 0 : 1;
  }
  if (opts.rotation || opts.mermaid) {
    process.stdout.write(opts.rotation ? `${explainRotation(opts.stack, plan).join("\n")}\n` : pictures().mermaidBlock(opts.stack, plan));
    const summary = simulatePlanSummary(plan, { maxFailures: 0 });
    return summary.reachable === summary.total ? 0 : 1;
  }
  const main = planned(plan);
  const other = opts.compare ? planned(planMesh({ ...plan.spec, topology: opts.compare }, { checkSizes: false })) : undefined;
  const listAll = Boolean(opts.pairs) || plan.nodes.length <= LIST_ALL_UP_TO;
  const out = new OutputWriter(process.stdout);
  const resilience = simulatePlanFailures(plan, { listed: listAll ? 10_000 : 100 });
  const resilient = resilienceProblems(resilience, plan.spec.resilience === "node").length === 0;
  if (opts.json) {
    const pairs: unknown[] | undefined = listAll ? [] : undefined;
    const summary = simulatePlanSummary(plan, listAll ? { onPair: (p) => pairs?.push(toJsonPair(p, main, other)) } : {});
    const access = accessSection(plan, { flows: listAll }).report;
    out.line(JSON.stringify({ ...(planToJson(opts.stack, plan, summary, pairs, other?.plan, resilience) as object), access: access ?? null }, null, 2));
    out.flush();
    return planExit(summary, access?.failedTests ?? 0, resilient);
  }
  for (const line of headerLines(opts.stack, plan, listAll)) out.line(line);
  if (other) for (const line of compareLines(main, other, listAll)) out.line(line);
  let summary: SimulationSummary;
  if (listAll) {
    out.line("");
    out.line(other ? `Paths that differ under topology ${other.plan.spec.topology}` : "Paths");
    // Under --compare only the pairs the other topology routes differently are listed; the rest are counted.
    let same = 0;
    summary = simulatePlanSummary(plan, {
      onPair: (p) => {
        if (other && p.reachable && samePath(p, main, other)) same++;
        else out.line(pairLine(p, main, other));
      },
    });
    if (other) out.line(`  ${same === 0 ? "no" : count(same)} other pair${same === 1 ? " takes" : "s take"} the same path under both`);
  } else {
    summary = simulatePlanSummary(plan, { maxFailures: 20 });
    if (summary.failures.length > 0) {
      out.line("");
      out.line("Unreachable");
      for (const f of summary.failures) out.line(pairLine(f, main));
      if (summary.failuresOmitted > 0) out.line(`  and ${summary.failuresOmitted} more`);
    }
  }
  for (const line of resilienceLines(resilience, listAll ? FAILURES_LISTED : FAILURES_LISTED_LARGE)) out.line(line);
  for (const p of resilienceProblems(resilience, plan.spec.resilience === "node")) out.line(`${p.path}: ${p.message}`);
  out.line("");
  const access = accessSection(plan);
  for (const line of access.lines) out.line(line);
  out.line("");
  out.line(summaryLine(summary));
  out.flush();
  return planExit(summary, access.report?.failedTests ?? 0, resilient);
}

/** 1 when a pair is unreachable or a declared resilience does not hold, else 3 when an access test fails, else 0. */
function planExit(summary: SimulationSummary, failedTests: number, resilient: boolean): number {
  if (summary.reachable !== summary.total || !resilient) return 1;
  return failedTests > 0 ? ACCESS_TEST_FAILED_EXIT : 0;
}

function parseTopology(value: string): TopologyMode {
  if (!(TOPOLOGIES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${TOPOLOGIES.join(", ")}`);
  return value as TopologyMode;
}

export function registerPlanCommand(program: Command): void {
  program
    .command("plan")
    .description("validate Pulumi.<stack>.yaml, plan the mesh and prove every ordered pair reachable in the simulator")
    .requiredOption("--stack <name>", "stack whose Pulumi.<name>.yaml to plan")
    .option("--json", "print one JSON document instead of text")
    .option("--pairs", `list every ordered pair with its path and round trips (done anyway up to ${LIST_ALL_UP_TO} nodes)`)
    .option("--compare <topology>", `the same pairs under another topology (${TOPOLOGIES.join(", ")}), from the latency model`, parseTopology)
    .option("--diagram <file.svg>", "also draw the mesh with Graphviz: nodes by area and region, links with their round trips")
    .option("--map <file.svg>", "also draw the mesh on a world map: nodes at their sites, links as arcs coloured by round trip")
    .option("--mermaid", "print the mesh as a Mermaid flowchart (a ```mermaid block for a pull-request comment) instead of the plan")
    .option("--rotation", "explain what bumping keyEpoch will do, step by step and when, instead of the plan")
    .option("--cost", "estimate the monthly cost per node (VM, public IPv4, disk, vault secret and reads) from the shipped price table, instead of the plan")
    .action(action((opts: PlanCommandOptions) => runPlanCommand(opts)));
}
