/**
 * The access policy on real WireGuard and the real netfilter, for prod with a policy: backends reach
 * only the hub and the POPs of their area, on tcp/443 and icmp; the hub reaches every node on tcp/22;
 * ICMP echo needs a rule except between direct neighbours. Every node's ruleset is applied in its
 * namespace by the node's own wgmesh-firewall (nft -f). Every ordered pair tries tcp/22, tcp/443,
 * udp/53 and ICMP echo: every flow the simulator allows must connect, and every flow it denies must
 * be dropped, seen in the dropped-flow set of exactly the node the simulator names and no other.
 * Then the same lab takes a changed policy in place (a ping between neighbours loses nothing while
 * rulesets are replaced), the doctor's check sees a hand edit, the metrics count per rule, and
 * removing the rulesets makes the mesh flat again. Needs root and nft; skipped loudly without.
 */
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileAccess, FilterModel, renderRuleset, rulesetHeader, type CompiledAccess } from "../../infra/access";
import { accessReportOf } from "../../infra/access/report";
import type { Probe } from "../../infra/access/services";
import type { MeshPlan } from "../../infra/model";
import { simulate, type PairResult } from "../../infra/simulate";
import { compareFlows, flowKey, LabAccess, type Flow } from "../../lab/access";
import { tool } from "../../lab/exec";
import { configsFromPlan } from "../../lab/from-plan";
import { Lab } from "../../lab/lab";
import { findOnPath, labBlocker } from "../../lab/preflight";
import { leftoversOfLab } from "../../lab/teardown";
import { parsePrometheusText, promtool } from "../support/prometheus-text";
import { PROD_POLICY, prodWith } from "../support/prod-access";

const blocker = labBlocker() ?? (findOnPath("nft") ? undefined : "nft not found: apt-get install nftables (scripts/setup.sh does)");
if (blocker) process.stderr.write(`\n*** SKIPPING the access lab tests: ${blocker} ***\n\n`);

const PROBES: Probe[] = [
  { proto: "tcp", port: 22 },
  { proto: "tcp", port: 443 },
  { proto: "udp", port: 53 },
  { proto: "icmp" },
];

let lab: Lab | undefined;
let access: LabAccess | undefined;
let plan: MeshPlan;
let pairs: Map<string, PairResult>;

function texts(compiled: CompiledAccess): Map<string, string> {
  return new Map([...compiled.rulesets].map(([n, r]) => [n, renderRuleset(r, rulesetHeader(n, compiled.spec.rules.length))]));
}

before(async () => {
  if (blocker) return;
  plan = prodWith();
  const input = configsFromPlan(plan);
  pairs = new Map(simulate(input.configs).pairs.map((p) => [`${p.from}>${p.to}`, p]));
  lab = await Lab.up(input.configs, { concurrency: 12 });
  access = new LabAccess(lab);
  await access.startServers([22, 443], [53]);
  await lab.waitForHandshakes(10_000);
});

after(async () => {
  await access?.close();
  const id = lab?.id;
  lab?.down();
  if (id) assert.deepEqual(leftoversOfLab(id), [], `lab ${id} left things behind`);
});

function labTest(name: string, fn: (t: TestContext) => Promise<void>, timeout = 180_000): void {
  test(name, { skip: blocker ? `lab cannot run here: ${blocker}` : false, timeout }, fn);
}

labTest("prod with a policy: every flow the simulator allows connects, every flow it denies is dropped at the node it names", async (t) => {
  const a = access as LabAccess;
  const report = accessReportOf(plan);
  assert.equal(report?.failedTests, 0, "the policy's own tests hold in the simulator");
  const compiled = compileAccess(plan, { iface: a.ifaceOf }) as CompiledAccess;
  await a.apply(texts(compiled));
  const filter = new FilterModel(compiled.rulesets, new Map(plan.nodes.map((n) => [n.name, n.address])));
  const r = await compareFlows(a, filter, pairs, plan.nodes.map((n) => n.name), PROBES);
  t.diagnostic(`${r.flows} flows: ${r.allowed} allowed and connected, ${r.denied} denied, dropped at ${[...r.droppedAt].map(([n, k]) => `${n} ${k}`).join(", ")}; ${r.disagreements.length} disagreements`);
  assert.deepEqual(r.disagreements, []);
  // The policy really restricts: both outcomes occur, and drops happen at transit nodes as well as at destinations.
  assert.ok(r.allowed > 20 && r.denied > 300, `${r.allowed} allowed, ${r.denied} denied`);
  assert.ok((r.droppedAt.get("ireland") ?? 0) > 0 && (r.droppedAt.get("hkg") ?? 0) > 0 && (r.droppedAt.get("gru") ?? 0) > 0);
  // What the metrics read: per-rule counters, drops counted where they happened.
  const m = await a.runFirewall("ireland", ["metrics"]);
  assert.equal(m.code, 0, m.stderr);
  const text = readFileSync(join(a.metricsDir("ireland"), "wgmesh-access.prom"), "utf8");
  const lint = promtool(["check", "metrics"], text);
  assert.equal(lint.code, 0, lint.output);
  const families = parsePrometheusText(text);
  const value = (name: string, labels: Record<string, string>): number | undefined => {
    const sample = families.find((f) => f.name === name)?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
    return sample ? Number(sample.value) : undefined;
  };
  assert.ok((value("wgmesh_access_dropped_packets_total", { chain: "forward" }) ?? 0) > 0, "ireland counts what it drops in forward");
  assert.ok((value("wgmesh_access_rule_packets_total", { chain: "input", rule: "1" }) ?? 0) > 0, "rule 1 counted the backends' tcp/443 to ireland");
  assert.equal(value("wgmesh_access_ruleset_in_sync", {}), 1);
});

labTest("a changed policy is applied in place: pings between neighbours lose nothing, new flows open, the doctor's check sees a hand edit, removal makes the mesh flat", async () => {
  const a = access as LabAccess;
  const l = lab as Lab;
  const info = new Map(l.nodeInfo().map((n) => [n.name, n]));
  const changed = prodWith({ ...PROD_POLICY, rules: [...PROD_POLICY.rules, { from: "backends", to: "backends", allow: ["udp/53"] }], tests: [] });
  const before = compileAccess(plan, { iface: a.ifaceOf }) as CompiledAccess;
  const after = compileAccess(changed, { iface: a.ifaceOf }) as CompiledAccess;
  // 3 s of pings every 20 ms from nrt to its neighbour ireland while every ruleset is replaced, back and forth.
  const nrt = info.get("nrt");
  const pinger = spawn(tool("ip"), ["netns", "exec", nrt?.namespace as string, "ping", "-n", "-q", "-i", "0.02", "-c", "150", info.get("ireland")?.overlay as string]);
  let out = "";
  pinger.stdout.on("data", (d: Buffer) => (out += String(d)));
  const done = new Promise<void>((resolveDone) => pinger.once("exit", () => resolveDone()));
  for (let i = 0; i < 3; i++) {
    await a.apply(texts(after));
    await a.apply(texts(before));
  }
  await a.apply(texts(after));
  await done;
  assert.match(out, /150 packets transmitted, 150 received/, `pings lost while rulesets were replaced:\n${out}`);
  const filter = new FilterModel(after.rulesets, new Map(changed.nodes.map((n) => [n.name, n.address])));
  const nowOpen: Flow = { from: "gru", to: "syd", probe: { proto: "udp", port: 53 } };
  assert.equal(filter.verdict(pairs.get("gru>syd") as PairResult, nowOpen.probe).allowed, true);
  assert.equal((await a.probe([nowOpen], 3000)).get(flowKey(nowOpen)), "open", "the flow the new rule allows connects");
  // The doctor's check: healthy, then a rule added by hand is a finding naming the fix.
  const file = a.rulesetFile("hkg");
  assert.equal((await a.runFirewall("hkg", ["check", file])).code, 0);
  await (await import("../../lab/exec")).run("ip", ["netns", "exec", info.get("hkg")?.namespace as string, "nft", "insert", "rule", "inet", "wgmesh", "input", "tcp", "dport", "9999", "accept"]);
  const drift = await a.runFirewall("hkg", ["check", file]);
  assert.equal(drift.code, 1);
  assert.match(drift.stdout, /^access: the live table inet wgmesh differs from the ruleset applied \(changed by hand\?\): wgmesh-firewall apply /m);
  await a.apply(new Map([["hkg", readFileSync(file, "utf8")]]));
  assert.equal((await a.runFirewall("hkg", ["check", file])).code, 0, "re-applying the config's ruleset fixes it");
  // A file that would touch another table, even tucked inside ours, is refused and changes nothing.
  const foreign = `${file}.foreign`;
  writeFileSync(foreign, readFileSync(file, "utf8").replace(/\n\}\n$/, "\n}\n\ttable ip nat {\n\t}\n"));
  const refused = await a.runFirewall("hkg", ["apply", foreign]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /line \d+ is outside table inet wgmesh; wgmesh-firewall changes nothing but its own table/);
  const tables = await (await import("../../lab/exec")).run("ip", ["netns", "exec", info.get("hkg")?.namespace as string, "nft", "list", "tables"]);
  assert.equal(tables.stdout.trim(), "table inet wgmesh");
  assert.equal((await a.runFirewall("hkg", ["check", file])).code, 0);
  // Removed everywhere: every flow connects again.
  await a.remove(changed.nodes.map((n) => n.name));
  const flows: Flow[] = [
    { from: "gru", to: "syd", probe: { proto: "tcp", port: 22 } },
    { from: "nrt", to: "lhr", probe: { proto: "tcp", port: 443 } },
    { from: "hkg", to: "iad", probe: { proto: "icmp" } },
  ];
  const results = await a.probe(flows, 3000);
  assert.deepEqual(flows.map((f) => results.get(flowKey(f))), ["open", "open", "open"]);
  const none = await a.runFirewall("gru", ["check"]);
  assert.equal(none.code, 0, `no policy and no table: healthy (${none.stdout})`);
});
