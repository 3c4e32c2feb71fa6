/**
 * Access policies on the lab's real WireGuard and real netfilter: each node's ruleset applied in its
 * namespace by the node's own wgmesh-firewall script (nft -f), flows sent between namespaces (TCP
 * connects and UDP exchanges from lab/flow-probe.py, ICMP echo from lab/batch-ping.py), and the flows
 * each node dropped read back from its ruleset's dropped-flow sets, so a denied flow is seen dropped
 * at the very node that dropped it. Everything lives in the lab's namespaces and a scratch folder.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatProbe, type Probe } from "../infra/access/services";
import { FilterModel, verdictText, type FlowVerdict, type PathOfPair } from "../infra/access/simulate";
import { compileAccess } from "../infra/access/compile";
import { renderRuleset, rulesetHeader } from "../infra/access/nft";
import type { MeshPlan } from "../infra/model";
import { BATCH_PINGER, parseBatchReplies, pingerInterpreter } from "./batch-ping";
import { LabError } from "./errors";
import { mapLimited, run, tool } from "./exec";
import type { Lab, LabNodeInfo } from "./lab";
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

/** The lab's nodes, each with its namespace, interface and overlay address. */
export class LabAccess {
  private readonly dir: string;
  private readonly nodes: Map<string, LabNodeInfo>;
  private servers: ChildProcess[] = [];

  constructor(private readonly lab: Lab) {
    this.dir = mkdtempSync(join(tmpdir(), "wgmesh-lab-access-"));
    this.nodes = new Map(lab.nodeInfo().map((n) => [n.name, n]));
  }

  private node(name: string): LabNodeInfo {
    const n = this.nodes.get(name);
    if (!n) throw new LabError(`lab: no node ${name}`);
    return n;
  }

  /** The interface each node's ruleset must name (the lab gives every node its own). */
  ifaceOf = (name: string): string => this.node(name).iface;

  private firewall(name: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const n = this.node(name);
    const env = { WGMESH_STATE_DIR: join(this.dir, `${name}-state`), WGMESH_METRICS_DIR: this.metricsDir(name) };
    return run("ip", ["netns", "exec", n.namespace, tool("bash"), FIREWALL_SCRIPT, ...args], { allowFailure: true, env, timeoutMs: 60_000 });
  }

  /** Applies each node's ruleset text with wgmesh-firewall apply, as the node's agent does; throws on a refusal. */
  async apply(rulesets: ReadonlyMap<string, string>): Promise<void> {
    await mapLimited([...rulesets], 8, async ([name, text]) => {
      const file = join(this.dir, `${name}.nft`);
      writeFileSync(file, text, { mode: 0o600 });
      const r = await this.firewall(name, ["apply", file]);
      if (r.code !== 0) throw new LabError(`lab: ${name}: wgmesh-firewall apply failed: ${r.stderr.trim().split("\n").at(-1) ?? ""}`);
    });
  }

  /** wgmesh-firewall on one node: its exit code and its output, for tests of the script itself. */
  runFirewall(name: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.firewall(name, args);
  }

  /** Where a node's wgmesh-firewall writes its metrics textfile. */
  metricsDir(name: string): string {
    return join(this.dir, `${name}-metrics`);
  }

  /** The path a node's ruleset was written to by the last apply. */
  rulesetFile(name: string): string {
    return join(this.dir, `${name}.nft`);
  }

  async remove(names: readonly string[]): Promise<void> {
    await mapLimited(names, 8, async (name) => {
      const r = await this.firewall(name, ["remove"]);
      if (r.code !== 0) throw new LabError(`lab: ${name}: wgmesh-firewall remove failed: ${r.stderr.trim()}`);
    });
  }

  /** Every flow each node dropped since its ruleset was applied or its sets emptied, as tuples. */
  async dropped(): Promise<Map<string, Set<string>>> {
    const out = new Map<string, Set<string>>();
    await mapLimited([...this.nodes.keys()], 8, async (name) => {
      const r = await this.firewall(name, ["dropped"]);
      out.set(name, new Set(r.stdout.split("\n").map((l) => l.trim()).filter(Boolean)));
    });
    return out;
  }

  /** Forgets the dropped flows every node recorded (nodes without the table are skipped). */
  async clearDropped(): Promise<void> {
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
  await a.clearDropped();
  const results = await a.probe(flows, 1500);
  for (let i = 0; i < 2; i++) {
    const retry = flows.filter((f) => verdicts.get(flowKey(f))?.allowed && results.get(flowKey(f)) !== "open");
    if (retry.length === 0) break;
    for (const [k, v] of await a.probe(retry, 3000)) results.set(k, v);
  }
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
    await a.apply(new Map([...compiled.rulesets].map(([n, r]) => [n, renderRuleset(r, rulesetHeader(n, compiled.spec.rules.length))])));
    const probes = probesForPolicy(plan);
    const ports = (proto: "tcp" | "udp") => [...new Set(probes.flatMap((p) => (p.proto === proto ? [p.port] : [])))];
    await a.startServers(ports("tcp"), ports("udp"));
    const filter = new FilterModel(compiled.rulesets, new Map(plan.nodes.map((n) => [n.name, n.address])));
    return { ...(await compareFlows(a, filter, pairs, plan.nodes.map((n) => n.name), probes)), probes };
  } finally {
    await a.close();
  }
}
