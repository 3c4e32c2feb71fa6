/** `wgmesh lab` and `wgmesh lab down`: a mesh's configs on real WireGuard in namespaces, every pair pinged. */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { plainText, quote } from "../infra/quote";
import { asConfigMap } from "../infra/simulate";
import { LatencyModel, latencyModelFor } from "../infra/latency/model";
import { readCleanConfigFolder } from "../workspace/configdir";
import { UserError } from "../infra/errors";
import { action } from "./errors";
import { loadStack } from "../workspace/project";
import { printWarnings } from "./warnings";
import { formatMatrix, formatRtt } from "../lab/format";
import { compareWithPlan, configsFromPlan, type Disagreement, type LabInput } from "../lab/from-plan";
import { formatFailoverRun, parseFailTarget, runFailover } from "../lab/failover";
import { simulatePlanFailures } from "../infra/simulate/plan";
import { wasInterrupted } from "../lab/exit-guard";
import { Lab } from "../lab/lab";
import { parseLatencyJson, parseScale, parseSites, type LatencyTable } from "../lab/latency";
import { compareWithModel, formatModelComparison, modelLatencyTable } from "../lab/model-compare";
import type { PingMatrix } from "../lab/ping";
import { assertLabCanRun } from "../lab/preflight";
import { assertFolderClearOfLab, assertStackClearOfLab } from "../lab/underlay-clash";
import { checkAccessInLab, type FlowComparison } from "../lab/access";
import { formatProbe, type Probe } from "../infra/access/services";
import { simulate } from "../infra/simulate";

export interface LabCommandOptions {
  stack?: string;
  dir?: string;
  keep?: boolean;
  /** A file of round trips, or true: the latency model's. */
  latency?: string | true;
  site?: string[];
  scale: string;
  json?: boolean;
  /** Nodes ("hkg") or links ("hkg-nrt") to fail, one after the other. */
  fail?: string[];
  /** The share of underlay datagrams dropped while failures run, e.g. 0.05. */
  loss?: string;
  /** Seconds each failure lasts. */
  outage?: string;
}

function loadInput(opts: LabCommandOptions): LabInput {
  if (opts.stack && opts.dir) throw new UserError("lab: give --stack or --dir, not both");
  if (opts.stack) {
    const loaded = loadStack(opts.stack);
    printWarnings(loaded);
    assertStackClearOfLab(loaded.spec, `Pulumi.${loaded.name}.yaml`);
    return configsFromPlan(loaded.plan);
  }
  if (opts.dir) {
    const folder = readCleanConfigFolder(opts.dir);
    assertFolderClearOfLab(folder.configs, folder.files);
    return { configs: folder.configs };
  }
  throw new UserError("lab: say which mesh: --stack NAME (Pulumi.NAME.yaml here) or --dir DIR (a folder of wg-quick configs)");
}

function loadLatency(file: string | true | undefined, input: LabInput, sites: ReadonlyMap<string, string>): LatencyTable | undefined {
  if (file === undefined) return undefined;
  if (file === true) {
    const nodes = [...asConfigMap(input.configs).keys()];
    return modelLatencyTable(input.plan ? latencyModelFor(input.plan.spec) : new LatencyModel(), nodes.map((n) => sites.get(n) ?? n));
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UserError(`--latency ${quote(file)}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseLatencyJson(text, `--latency ${quote(file)}`);
}

function describeKept(lab: Lab): string[] {
  const nodes = lab.nodeInfo();
  const first = nodes[0];
  const w = Math.max(...nodes.map((n) => n.name.length));
  return [
    `Lab ${lab.id} is kept running.`,
    ...nodes.map((n) => `  ${n.name.padEnd(w)}  ip netns exec ${n.namespace} bash    wg show ${n.iface}    underlay ${n.underlay}${n.overlay ? `  overlay ${n.overlay}` : ""}`),
    ...(first ? [`Enter a node: ip netns exec ${first.namespace} bash; inspect it: wg show ${first.iface}`] : []),
    "Remove it: wgmesh lab down",
  ];
}

function textReport(lab: Lab, matrix: PingMatrix, withRtt: boolean, disagreements: Disagreement[] | undefined): string {
  const out = [`Lab ${lab.id}: ${lab.nodeInfo().length} nodes up in ${(lab.upMs / 1000).toFixed(1)}s, ${matrix.total} ordered pairs pinged in ${(matrix.elapsedMs / 1000).toFixed(1)}s`, ""];
  if (withRtt && lab.emulatedLinks.length > 0) {
    out.push(`WAN delays on ${lab.emulatedLinks.length} links: ${lab.emulatedLinks.map((l) => `${l.a}-${l.b} ${formatRtt(l.rttMs)}`).join(", ")}`, "");
  }
  const skipped = lab.skippedHooks;
  if (skipped.length > 0) {
    // A hook is free text from someone's file: shown escaped and cut, with anything key-like hidden.
    out.push("Not run in the lab:", ...skipped.map((s) => `  ${s.node}: ${s.hook} = ${plainText(s.command, 120)}`), "");
  }
  if (lab.notes.length > 0) out.push(...lab.notes.map((n) => `note: ${n}`), "");
  if (disagreements && disagreements.length > 0) {
    out.push(
      "Lab and plan disagree:",
      ...disagreements.map((d) => `  ${d.from} -> ${d.to}: lab ${d.labHops === null ? "unreachable" : `${d.labHops} hops`}, plan ${d.planHops} hops`),
      "",
    );
  }
  out.push(formatMatrix(matrix, withRtt));
  return out.join("\n");
}

function jsonReport(lab: Lab, matrix: PingMatrix, disagreements: Disagreement[] | undefined): unknown {
  return {
    lab: lab.id,
    kept: lab.isKept,
    nodes: lab.nodeInfo(),
    upMs: lab.upMs,
    matrixMs: matrix.elapsedMs,
    emulatedLinks: lab.emulatedLinks,
    skippedHooks: lab.skippedHooks,
    notes: lab.notes,
    pairs: matrix.pairs,
    ...(disagreements ? { disagreements } : {}),
    reachable: matrix.reachable,
    total: matrix.total,
  };
}

function accessLabLines(a: FlowComparison & { probes: readonly Probe[] }): string[] {
  const where = [...a.droppedAt].map(([n, k]) => `${n} ${k}`).join(", ");
  return [
    `Access: every node's ruleset applied with nft; ${a.flows} flows tried (every ordered pair x ${a.probes.map(formatProbe).join(", ")})`,
    `  ${a.allowed} allowed by the simulator, ${a.denied} denied (dropped at ${where || "no node"}); ${a.disagreements.length === 0 ? "the lab agrees on every flow" : `${a.disagreements.length} disagreements:`}`,
    ...a.disagreements.map((d) => `  ${d}`),
  ];
}

export async function runLabCommand(opts: LabCommandOptions): Promise<number> {
  try {
    return await labCommand(opts);
  } catch (err) {
    // After Ctrl-C the signal handler tears down and exits; what failed because of it is no news.
    if (wasInterrupted()) return new Promise<number>(() => undefined);
    throw err;
  }
}

function parseShare(text: string | undefined, what: string): number {
  if (text === undefined) return 0;
  const v = Number(text);
  if (!/^\d*\.?\d+$/.test(text) || !(v >= 0 && v < 0.5)) throw new UserError(`${what} ${quote(text)}: expected a share of datagrams from 0 to below 0.5, such as 0.05`);
  return v;
}

function parseSeconds(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!/^\d+$/.test(text) || v < 1 || v > 3600) throw new UserError(`${what} ${quote(text)}: expected whole seconds from 1 to 3600`);
  return v;
}

/** `--fail`: each failure in turn on one lab, every pair pinging throughout, held against the simulator. */
async function failCommand(opts: LabCommandOptions, input: LabInput): Promise<number> {
  const nodes = [...asConfigMap(input.configs).keys()];
  const failures = (opts.fail ?? []).map((t) => parseFailTarget(t, nodes));
  const loss = parseShare(opts.loss, "--loss");
  const outageMs = parseSeconds(opts.outage, "--outage", 20) * 1000;
  if (!input.failover) process.stderr.write("note: this mesh has no failover tables (resilience: node plans them), so nothing reroutes; the lab shows what a failure costs until a redeploy\n");
  const predicted = input.plan ? simulatePlanFailures(input.plan, { listed: 100_000 }) : undefined;
  const lab = await Lab.up(input.configs, {
    ...(input.sites ? { sites: input.sites } : {}),
    ...(input.failover ? { failover: input.failover } : {}),
    impairable: true,
    onProgress: (m) => process.stderr.write(`${m}\n`),
  });
  try {
    if (loss > 0) await lab.setLoss(loss);
    await lab.waitForHandshakes(20_000);
    process.stdout.write(`Lab ${lab.id}: ${nodes.length} nodes up in ${(lab.upMs / 1000).toFixed(1)}s${input.failover ? `, watchdogs on ${input.failover.size}` : ""}${loss > 0 ? `, ${(loss * 100).toFixed(1)}% of underlay datagrams dropped` : ""}\n`);
    let ok = true;
    for (const failure of failures) {
      const run = await runFailover(lab, failure, { outageMs, onProgress: (m) => process.stderr.write(`${m}\n`) });
      const outcome = predicted?.failures.find((f) => JSON.stringify(f.failure) === JSON.stringify(failure));
      const expected = outcome ? new Map<string, string[] | null>([...outcome.reroutedPairs.map((p) => [`${p.from}>${p.to}`, p.path] as const), ...outcome.lostPairs.map((p) => [`${p.from}>${p.to}`, null] as const)]) : undefined;
      const report = formatFailoverRun(run, expected);
      ok &&= report.ok;
      process.stdout.write(`\n${report.lines.join("\n")}\n`);
    }
    if (opts.keep) lab.keep();
    return ok ? 0 : 1;
  } finally {
    if (!opts.keep) lab.down();
  }
}

async function labCommand(opts: LabCommandOptions): Promise<number> {
  assertLabCanRun();
  const input = loadInput(opts);
  if (opts.fail && opts.fail.length > 0) {
    if (opts.latency !== undefined) throw new UserError("lab --fail runs without WAN delays; leave out --latency");
    return failCommand(opts, input);
  }
  if (opts.loss !== undefined || opts.outage !== undefined) throw new UserError("--loss and --outage go with --fail NODE (or --fail a-b)");
  const scale = parseScale(opts.scale);
  const nodes = [...asConfigMap(input.configs).keys()];
  const planned = input.sites instanceof Map ? [...input.sites] : Object.entries(input.sites ?? {});
  const sites = new Map([...planned, ...parseSites(opts.site ?? [], nodes)]);
  const latency = loadLatency(opts.latency, input, sites);
  const lab = await Lab.up(input.configs, {
    sites,
    ...(latency ? { latency } : {}),
    scale,
    onProgress: (m) => process.stderr.write(`${m}\n`),
  });
  try {
    const matrix = await lab.pingMatrix();
    const disagreements = input.plan ? compareWithPlan(input.plan, matrix) : undefined;
    const versusModel = opts.latency === true && input.plan ? compareWithModel(input.plan, matrix, scale) : undefined;
    // The stack's access policy (docs/access.md), after the matrix of the flat mesh: applied with real nft, every flow held to the simulator.
    const access = input.plan?.spec.access ? await checkAccessInLab(lab, input.plan, new Map(simulate(input.configs).pairs.map((p) => [`${p.from}>${p.to}`, p]))) : undefined;
    if (opts.keep) lab.keep();
    if (opts.json) process.stdout.write(`${JSON.stringify({ ...(jsonReport(lab, matrix, disagreements) as object), ...(versusModel ? { model: versusModel } : {}), ...(access ? { access: { ...access, droppedAt: Object.fromEntries(access.droppedAt) } } : {}) }, null, 2)}\n`);
    else process.stdout.write(`${textReport(lab, matrix, latency !== undefined, disagreements)}${versusModel ? `\n\n${formatModelComparison(versusModel).join("\n")}` : ""}${access ? `\n\n${accessLabLines(access).join("\n")}` : ""}\n`);
    if (opts.keep) process.stderr.write(`${describeKept(lab).join("\n")}\n`);
    return matrix.reachable === matrix.total && (access?.disagreements.length ?? 0) === 0 ? 0 : 1;
  } finally {
    if (!opts.keep) lab.down();
  }
}

export function runLabDown(id: string | undefined): number {
  assertLabCanRun();
  if (id !== undefined) {
    if (!/^[0-9a-f]{6}$/.test(id)) throw new UserError(`lab down --id ${quote(id)}: a lab id is 6 hex digits, as printed by wgmesh lab`);
    const r = Lab.downById(id);
    process.stdout.write(`lab ${id}: removed ${r.namespaces} namespaces, ${r.interfaces} interfaces, ${r.processes} processes\n`);
    return 0;
  }
  const { removed, busy } = Lab.downAll();
  for (const id of removed) process.stdout.write(`lab ${id}: removed\n`);
  for (const id of busy) process.stdout.write(`lab ${id}: still run by its process, left alone (wgmesh lab down --id ${id} removes it anyway)\n`);
  if (removed.length === 0 && busy.length === 0) process.stdout.write("no labs to remove\n");
  return 0;
}

export function registerLabCommand(program: Command): void {
  const lab = program
    .command("lab")
    .description("bring a mesh up on real WireGuard (wireguard-go) in network namespaces and ping every ordered pair (root)")
    .option("--stack <name>", "the mesh of Pulumi.<name>.yaml, with throw-away keys")
    .option("--dir <dir>", "a folder of wg-quick configs (<node>.conf), with their own keys")
    .option("--keep", "leave the lab running; remove it later with `wgmesh lab down`")
    .option("--latency [file]", "WAN round trips between sites: the latency model's (and its figures compared with what is measured), or a JSON file {\"rttMs\": {\"dub-gru\": 172}}")
    .option("--site <node=site>", "the site code --latency knows a node by, e.g. ireland=dub (repeatable; --stack takes them from the stack)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--scale <factor>", "multiply every WAN delay (0.1 = a tenth)", "1")
    .option("--json", "print one JSON document instead of text")
    .option("--fail <node|a-b>", "fail a node (or cut the UDP between two nodes) while every pair pings, then bring it back; per pair: packets lost, time to answer again, time back on the planned path (repeatable, in turn)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--loss <share>", "with --fail: drop this share of underlay datagrams throughout (0.05 = 5%)")
    .option("--outage <seconds>", "with --fail: how long each failure lasts (default 20)")
    .action(action((opts: LabCommandOptions) => runLabCommand(opts)));
  lab
    .command("down")
    .description("remove labs kept with --keep (and any whose process died)")
    .option("--id <id>", "remove this lab even if its process still runs")
    .action(action((opts: { id?: string }) => runLabDown(opts.id)));
}
