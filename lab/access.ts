/**
 * Access policies on the lab's real WireGuard and real netfilter: each node's ruleset applied in its
 * namespace by the node's own wgmesh-firewall script (nft -f), flows sent between namespaces (TCP
 * connects and UDP exchanges from lab/flow-probe.py, ICMP echo from lab/batch-ping.py), and the flows
 * each node dropped read back from its ruleset's dropped-flow sets, so a denied flow is seen dropped
 * at the very node that dropped it. Everything lives in the lab's namespaces and a scratch folder.
 *
 * The iptables backend (LabAccess's `firewall`, or WGMESH_LAB_FIREWALL=iptables) applies the same
 * compiled rulesets rendered for iptables-restore, with iptables-legacy where it is installed (the
 * path a host without nft takes). It records no dropped flows, so where a denied flow is dropped is
 * read from the nodes' drop counters instead: the denied flows are tried in rounds, one per node the
 * simulator drops them at, and only that node's counters may move.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatProbe, type Probe } from "../infra/access/services";
import { FilterModel, verdictText, type FlowVerdict, type PathOfPair } from "../infra/access/simulate";
import { compileAccess } from "../infra/access/compile";
import { iptablesRulesetHeader, renderIptablesRuleset } from "../infra/access/iptables";
import { renderRuleset, rulesetHeader } from "../infra/access/nft";
import type { CompiledAccess } from "../infra/access/compile";
import type { MeshPlan } from "../infra/model";
import { BATCH_PINGER, parseBatchReplies, pingerInterpreter } from "./batch-ping";
import { LabError } from "./errors";
import { mapLimited, run, tool } from "./exec";
import type { Lab, LabNodeInfo } from "./lab";
import { findOnPath } from "./preflight";
import { labTag } from "./teardown";

export const FIREWALL_SCRIPT = join(__dirname, "..", "infra", "render", "wgmesh-firewall.sh");
export const FLOW_PROBE = join(__dirname, "flow-probe.py");

export type FlowResult = "open" | "closed" | "timeout";

export interface Flow {
  from: string;
  to: string;
  probe: Probe;
}

/** "10.50.4.1 10.50.0.1 tcp 443", as wgmesh-firewall dropped prints a dropped flow. */
export function flowTuple(src: string, dst: string, probe: Probe): string {
  switch (probe.proto) {
    case "icmp":
      return `${src} ${dst} icmp`;
    case "other":
      return `${src} ${dst} ${probe.number}`;
    default:
      return `${src} ${dst} ${probe.proto} ${probe.port}`;
  }
}

export function flowKey(f: Flow): string {
  return `${f.from}\u0000${f.to}\u0000${formatProbe(f.probe)}`;
}

function python(): string[] {
  const p = pingerInterpreter();
  if (!p) throw new LabError("lab: access checks run lab/flow-probe.py, which needs python3; install it (apt-get install python3)");
  return p;
}

/** Which netfilter front end the lab's rulesets go through. */
export type LabFirewall = "nft" | "iptables";

/** The backend WGMESH_LAB_FIREWALL names (nft unless it says iptables). */
export function labFirewallFromEnv(): LabFirewall {
  return process.env.WGMESH_LAB_FIREWALL === "iptables" ? "iptables" : "nft";
}

/** The iptables command the iptables backend uses: iptables-legacy where installed (no nf_tables at all), else iptables. */
export function labIptables(): string | undefined {
  if (findOnPath("iptables-legacy-restore") && findOnPath("iptables-legacy-save")) return "iptables-legacy";
  return findOnPath("iptables-restore") ? "iptables" : undefined;
}

/** The lab's nodes, each with its namespace, interface and overlay address. */
export class LabAccess {
  private readonly dir: string;
  private readonly nodes: Map<string, LabNodeInfo>;
  private servers: ChildProcess[] = [];
  readonly firewall: LabFirewall;
  /** The iptables command (iptables backend only). */
  readonly iptables: string;

  constructor(
    private readonly lab: Lab,
    options: { firewall?: LabFirewall } = {},
  ) {
    this.firewall = options.firewall ?? labFirewallFromEnv();
    const ipt = this.firewall === "iptables" ? labIptables() : "iptables";
    if (!ipt) throw new LabError("lab: the iptables backend needs iptables-restore; apt-get install iptables (scripts/setup.sh does)");
    this.iptables = ipt;
    this.dir = mkdtempSync(join(tmpdir(), "wgmesh-lab-access-"));
    this.nodes = new Map(lab.nodeInfo().map((n) => [n.name, n]));
  }

  /** Each node's ruleset as this backend's file: nft text, or an iptables-restore file. */
  render(compiled: CompiledAccess): Map<string, string> {
    const rules = compiled.spec.rules.length;
    return new Map(
      [...compiled.rulesets].map(([n, r]) => [n, this.firewall === "iptables" ? renderIptablesRuleset(r, iptablesRulesetHeader(n, rules)) : renderRuleset(r, rulesetHeader(n, rules))]),
    );
  }

  /** The namespace of a node, for tests that change its netfilter by hand. */
  namespaceOf(name: string): string {
    return this.node(name).namespace;
  }

  private node(name: string): LabNodeInfo {
    const n = this.nodes.get(name);
    if (!n) throw new LabError(`lab: no node ${name}`);
    return n;
  }

  /** The interface each node's ruleset must name (the lab gives every node its own). */
  ifaceOf = (name: string): string => this.node(name).iface;

  private runScript(name: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const n = this.node(name);
    const env = { WGMESH_STATE_DIR: join(this.dir, `${name}-state`), WGMESH_METRICS_DIR: this.metricsDir(name), WGMESH_IPTABLES: this.iptables };
    return run("ip", ["netns", "exec", n.namespace, tool("bash"), FIREWALL_SCRIPT, ...args], { allowFailure: true, env, timeoutMs: 60_000 });
  }

  /** Applies each node's ruleset text with wgmesh-firewall apply, as the node's agent does; throws on a refusal. */
  async apply(rulesets: ReadonlyMap<string, string>): Promise<void> {
    await mapLimited([...rulesets], 8, async ([name, text]) => {
      const file = this.rulesetFile(name);
      writeFileSync(file, text, { mode: 0o600 });
      const r = await this.runScript(name, ["apply", file]);
      if (r.code !== 0) throw new LabError(`lab: ${name}: wgmesh-firewall apply failed: ${r.stderr.trim().split("\n").at(-1) ?? ""}`);
    });
  }

  /** wgmesh-firewall on one node: its exit code and its output, for tests of the script itself. */
  runFirewall(name: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.runScript(name, args);
  }

  /** Where a node's wgmesh-firewall writes its metrics textfile. */
  metricsDir(name: string): string {
    return join(this.dir, `${name}-metrics`);
  }

  /** The path a node's ruleset was written to by the last apply. */
  rulesetFile(name: string): string {
    return join(this.dir, `${name}.${this.firewall === "iptables" ? "iptables" : "nft"}`);
  }

  async remove(names: readonly string[]): Promise<void> {
    await mapLimited(names, 8, async (name) => {
      const r = await this.runScript(name, ["remove"]);
      if (r.code !== 0) throw new LabError(`lab: ${name}: wgmesh-firewall remove failed: ${r.stderr.trim()}`);
    });
  }

  /** Every flow each node dropped since its ruleset was applied or its sets emptied, as tuples. */
  async dropped(): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    await mapLimited([...this.nodes.keys()], 8, async (name) => {
      const r = await this.runScript(name, ["dropped"]);
      out.set(name, new Set(r.stdout.split("\n").map((l) => l.trim()).filter(Boolean)));
    });
    return out;
  }

  /** Packets each node's ruleset dropped so far (its `wgmesh drop` counters, read by wgmesh-firewall metrics); 0 without a ruleset. */
  async dropCounts(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    await mapLimited([...this.nodes.keys()], 8, async (name) => {
      const r = await this.runScript(name, ["metrics"]);
      if (r.code !== 0) throw new LabError(`lab: ${name}: wgmesh-firewall metrics failed: ${r.stderr.trim()}`);
      const text = readFileSync(join(this.metricsDir(name), "wgmesh-access.prom"), "utf8");
      const counts = [...text.matchAll(/^wgmesh_access_dropped_packets_total\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
      out.set(name, counts.reduce((a, b) => a + b, 0));
    });
    return out;
  }

  /** Forgets the dropped flows every node recorded (nodes without the table are skipped). */
  async clearDropped(): Promise<void> {
    if (this.firewall === "iptables") return;
    await mapLimited([...this.nodes.values()], 8, async (n) => {
      for (const set of ["dropped", "dropped_other"]) await run("ip", ["netns", "exec", n.namespace, "nft", "flush", "set", "inet", "wgmesh", set], { allowFailure: true });
    });
  }

  /** A listener on every given TCP and UDP port in every namespace, until stopServers(). */
  async startServers(tcp: readonly number[], udp: readonly number[]): Promise<void> {
    const list = (p: readonly number[]) => (p.length > 0 ? p.join(",") : "-");
    await Promise.all(
      [...this.nodes.values()].map(
        (n) =>
          new Promise<void>((resolve, reject) => {
            const child = spawn(tool("ip"), ["netns", "exec", n.namespace, ...python(), FLOW_PROBE, "serve", list(tcp), list(udp), labTag(this.lab.id)], { stdio: ["pipe", "pipe", "pipe"] });
            this.servers.push(child);
            let out = "";
            let err = "";
            child.stdout?.on("data", (d: Buffer) => {
              out += String(d);
              if (out.includes("ready")) resolve();
            });
            child.stderr?.on("data", (d: Buffer) => (err += String(d)));
            child.once("exit", (code) => reject(new LabError(`lab: ${n.name}: flow-probe serve exited (${code ?? "signal"}): ${err.trim()}`)));
          }),
      ),
    );
  }

  async stopServers(): Promise<void> {
    const servers = this.servers;
    this.servers = [];
    await Promise.all(
      servers.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once("exit", () => resolve());
            c.stdin?.end();
            setTimeout(() => c.kill("SIGKILL"), 2000).unref();
          }),
      ),
    );
  }

  /** Tries every flow, all of a source's at once; ICMP echo counts as open when the reply comes. */
  async probe(flows: readonly Flow[], timeoutMs: number): Promise<Map<string, FlowResult>> {
    const out = new Map<string, FlowResult>();
    const bySource = new Map<string, Flow[]>();
    for (const f of flows) bySource.set(f.from, [...(bySource.get(f.from) ?? []), f]);
    await mapLimited([...bySource], 16, async ([from, list]) => {
      const src = this.node(from);
      const ports = list.filter((f) => f.probe.proto === "tcp" || f.probe.proto === "udp");
      const echoes = list.filter((f) => f.probe.proto === "icmp");
      const jobs: Promise<void>[] = [];
      if (ports.length > 0) {
        const targets = ports.map((f) => `${this.node(f.to).overlay}:${f.probe.proto}:${(f.probe as { port: number }).port}`);
        jobs.push(
          run("ip", ["netns", "exec", src.namespace, ...python(), FLOW_PROBE, "probe", (timeoutMs / 1000).toFixed(3), ...targets], { timeoutMs: timeoutMs + 15_000 }).then((r) => {
            const results = new Map(r.stdout.split("\n").filter(Boolean).map((l) => l.split(" ") as [string, FlowResult]));
            ports.forEach((f, i) => out.set(flowKey(f), results.get(targets[i] as string) ?? "timeout"));
          }),
        );
      }
      if (echoes.length > 0) {
        const addresses = echoes.map((f) => this.node(f.to).overlay as string);
        jobs.push(
          run("ip", ["netns", "exec", src.namespace, ...python(), BATCH_PINGER, "1", "0", (timeoutMs / 1000).toFixed(3), ...addresses], { timeoutMs: timeoutMs + 15_000 }).then((r) => {
            const replies = parseBatchReplies(r.stdout);
            for (const f of echoes) out.set(flowKey(f), (replies.get(this.node(f.to).overlay as string)?.length ?? 0) > 0 ? "open" : "timeout");
          }),
        );
      }
      await Promise.all(jobs);
    });
    return out;
  }

  /** The node's overlay address, as the dropped-flow tuples name it. */
  addressOf(name: string): string {
    return this.node(name).overlay as string;
  }

  /** Stops the servers and removes the scratch folder (the rulesets go with the namespaces). */
  async close(): Promise<void> {
    await this.stopServers();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface FlowComparison {
  flows: number;
  allowed: number;
  denied: number;
  /** One line per flow where the lab and the simulator disagree, or per drop the simulator did not expect. */
  disagreements: string[];
  /** Denied flows per node the simulator drops them at. */
  droppedAt: Map<string, number>;
}

/**
 * Every ordered pair of `nodes` x every probe, measured in the lab and held to the simulator's
 * verdict on the rulesets the nodes run (`filter`) over the paths WireGuard's simulator found
 * (`pairs`, keyed "from>to"). An allowed flow must connect (one that does not at once is tried twice
 * more, more patiently); a denied one must time out and be in the dropped set of exactly the node the
 * simulator names; no node may drop anything else.
 */
export async function compareFlows(a: LabAccess, filter: FilterModel, pairs: ReadonlyMap<string, PathOfPair>, nodes: readonly string[], probes: readonly Probe[]): Promise<FlowComparison> {
  const flows: Flow[] = nodes.flatMap((from) => nodes.filter((to) => to !== from).flatMap((to) => probes.map((probe) => ({ from, to, probe }))));
  const verdicts = new Map<string, FlowVerdict>();
  for (const f of flows) {
    const pair = pairs.get(`${f.from}>${f.to}`);
    if (!pair) throw new LabError(`lab: no simulated path for ${f.from} -> ${f.to}`);
    verdicts.set(flowKey(f), filter.verdict(pair, f.probe));
  }
  if (a.firewall === "iptables") return compareByCounters(a, flows, verdicts);
  await a.clearDropped();
  const results = await a.probe(flows, 1500);
  await retryAllowed(a, flows, verdicts, results);
  const dropped = await a.dropped();
  const expectedDrops = new Set<string>();
  const out: FlowComparison = { flows: flows.length, allowed: 0, denied: 0, disagreements: [], droppedAt: new Map() };
  for (const f of flows) {
    const v = verdicts.get(flowKey(f)) as FlowVerdict;
    const got = results.get(flowKey(f)) ?? "not tried";
    const name = `${f.from} -> ${f.to} ${formatProbe(f.probe)}`;
    if (v.allowed) {
      out.allowed++;
      if (got !== "open") out.disagreements.push(`${name}: simulator ${verdictText(v)}; lab ${got}`);
      continue;
    }
    out.denied++;
    const tuple = flowTuple(a.addressOf(f.from), a.addressOf(f.to), f.probe);
    expectedDrops.add(tuple);
    if (got !== "timeout") out.disagreements.push(`${name}: simulator ${verdictText(v)}; lab ${got}`);
    const where = [...dropped].filter(([, set]) => set.has(tuple)).map(([n]) => n);
    const at = v.at as string;
    if (where.length !== 1 || where[0] !== at) out.disagreements.push(`${name}: simulator drops it at ${at}; the lab's dropped sets hold it at ${where.join(", ") || "no node"}`);
    out.droppedAt.set(at, (out.droppedAt.get(at) ?? 0) + 1);
  }
  for (const [node, set] of dropped) for (const t of set) if (!expectedDrops.has(t)) out.disagreements.push(`${node} dropped ${t}, which the simulator lets through (a flow it allows, or the reply of one)`);
  return out;
}

/** An allowed flow that did not connect at once is tried twice more, more patiently. */
async function retryAllowed(a: LabAccess, flows: readonly Flow[], verdicts: ReadonlyMap<string, FlowVerdict>, results: Map<string, FlowResult>): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const retry = flows.filter((f) => verdicts.get(flowKey(f))?.allowed && results.get(flowKey(f)) !== "open");
    if (retry.length === 0) break;
    for (const [k, v] of await a.probe(retry, 3000)) results.set(k, v);
  }
}

function counterMoves(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Map<string, number> {
  return new Map([...after].map(([n, v]) => [n, v - (before.get(n) ?? 0)]).filter(([, d]) => (d as number) !== 0) as [string, number][]);
}

/**
 * The iptables backend keeps no dropped-flow sets, so drops are placed by counters: the allowed
 * flows first (no node's drop counter may move: nothing they send, nor any reply, is dropped), then
 * the denied flows in rounds, one per node the simulator drops them at: every flow must time out,
 * that node's drop counters must rise by at least one packet per flow, and no other node's may move.
 */
async function compareByCounters(a: LabAccess, flows: readonly Flow[], verdicts: ReadonlyMap<string, FlowVerdict>): Promise<FlowComparison> {
  const out: FlowComparison = { flows: flows.length, allowed: 0, denied: 0, disagreements: [], droppedAt: new Map() };
  const name = (f: Flow) => `${f.from} -> ${f.to} ${formatProbe(f.probe)}`;
  const allowed = flows.filter((f) => verdicts.get(flowKey(f))?.allowed);
  let counts = await a.dropCounts();
  const results = await a.probe(allowed, 1500);
  await retryAllowed(a, allowed, verdicts, results);
  for (const f of allowed) {
    out.allowed++;
    const got = results.get(flowKey(f)) ?? "not tried";
    if (got !== "open") out.disagreements.push(`${name(f)}: simulator ${verdictText(verdicts.get(flowKey(f)) as FlowVerdict)}; lab ${got}`);
  }
  let now = await a.dropCounts();
  for (const [node, d] of counterMoves(counts, now)) out.disagreements.push(`${node} dropped ${d} packets while only flows the simulator allows were tried`);
  counts = now;
  const bySite = new Map<string, Flow[]>();
  for (const f of flows.filter((x) => !verdicts.get(flowKey(x))?.allowed)) {
    const at = verdicts.get(flowKey(f))?.at as string;
    bySite.set(at, [...(bySite.get(at) ?? []), f]);
  }
  for (const [at, list] of bySite) {
    const got = await a.probe(list, 1500);
    now = await a.dropCounts();
    const moved = counterMoves(counts, now);
    counts = now;
    for (const f of list) {
      out.denied++;
      const r = got.get(flowKey(f)) ?? "not tried";
      if (r !== "timeout") out.disagreements.push(`${name(f)}: simulator ${verdictText(verdicts.get(flowKey(f)) as FlowVerdict)}; lab ${r}`);
    }
    out.droppedAt.set(at, list.length);
    if ((moved.get(at) ?? 0) < list.length) out.disagreements.push(`${at}: the simulator drops ${list.length} flows there; its drop counters rose by ${moved.get(at) ?? 0} packets`);
    for (const [node, d] of moved) if (node !== at) out.disagreements.push(`${node} dropped ${d} packets while only flows the simulator drops at ${at} were tried (${list.map(name).slice(0, 3).join("; ")}${list.length > 3 ? "; ..." : ""})`);
  }
  return out;
}

/** Probes for a policy: its rules' and tests' ports (a range's ends), tcp/22, tcp/443, udp/53 and ICMP echo; at most `max`. */
export function probesForPolicy(plan: MeshPlan, max = 10): Probe[] {
  const access = plan.spec.access;
  const items = [...(access?.rules.flatMap((r) => r.services) ?? []), ...(access?.tests.flatMap((t) => [...t.accept, ...t.deny]) ?? [])];
  const out = new Map<string, Probe>();
  const add = (p: Probe) => out.set(formatProbe(p), p);
  for (const p of [{ proto: "tcp", port: 22 }, { proto: "tcp", port: 443 }, { proto: "udp", port: 53 }, { proto: "icmp" }] as Probe[]) add(p);
  for (const i of items) {
    if (i.kind !== "ports") continue;
    add({ proto: i.proto, port: Math.max(1, i.range.lo) });
    if (i.range.hi !== i.range.lo && i.range.hi < 65535) add({ proto: i.proto, port: i.range.hi });
  }
  return [...out.values()].slice(0, max);
}

/**
 * A planned mesh's access policy on a running lab: every node's ruleset applied with wgmesh-firewall,
 * listeners on the probed ports, and every ordered pair's probes held to the simulator. The rulesets
 * stay applied (a kept lab keeps them); the listeners and the scratch folder go.
 */
export async function checkAccessInLab(lab: Lab, plan: MeshPlan, pairs: ReadonlyMap<string, PathOfPair>): Promise<FlowComparison & { probes: Probe[] }> {
  const a = new LabAccess(lab);
  try {
    const compiled = compileAccess(plan, { iface: a.ifaceOf });
    if (!compiled) throw new LabError("lab: the stack declares no access policy");
    await a.apply(a.render(compiled));
    const probes = probesForPolicy(plan);
    const ports = (proto: "tcp" | "udp") => [...new Set(probes.flatMap((p) => (p.proto === proto ? [p.port] : [])))];
    await a.startServers(ports("tcp"), ports("udp"));
    const filter = new FilterModel(compiled.rulesets, new Map(plan.nodes.map((n) => [n.name, n.address])));
    return { ...(await compareFlows(a, filter, pairs, plan.nodes.map((n) => n.name), probes)), probes };
  } finally {
    await a.close();
  }
}
