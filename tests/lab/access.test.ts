/**
 * The access policy on real WireGuard and the real netfilter, for prod with a policy: backends reach
 * only the hub and the POPs of their area, on tcp/443 and icmp; the hub reaches every node on tcp/22;
 * ICMP echo needs a rule except between direct neighbours. Every node's ruleset is applied in its
 * namespace by the node's own wgmesh-firewall (nft -f). Every ordered pair tries tcp/22, tcp/443,
 * udp/53 and ICMP echo: every flow the simulator allows must connect, and every flow it denies must
 * be dropped, seen in the dropped-flow set of exactly the node the simulator names and no other.
 * Then the same lab takes a changed policy in place (a ping between neighbours loses nothing while
 * rulesets are replaced), the doctor's check sees a hand edit, the metrics count per rule, and
 * removing the rulesets makes the mesh flat again. Last, the same policy through iptables
 * (iptables-legacy where installed: the path of a host without nft), rendered from the same compiled
 * rules for iptables-restore: every flow again does what the simulator says, each denied flow dropped
 * at the node it names (read from the drop counters, one round per node), a hand edit is a finding,
 * a file naming another table is refused, removal leaves nothing of wg-mesh's. WGMESH_LAB_FIREWALL=
 * iptables runs the whole file on iptables. Needs root and nft; skipped loudly without.
 */
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileAccess, FilterModel, type CompiledAccess } from "../../infra/access";
import { accessReportOf } from "../../infra/access/report";
import type { Probe } from "../../infra/access/services";
import type { MeshPlan } from "../../infra/model";
import { simulate, type PairResult } from "../../infra/simulate";
import { compareFlows, flowKey, labIptables, LabAccess, type Flow } from "../../lab/access";
import { run, tool } from "../../lab/exec";
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
  return (access as LabAccess).render(compiled);
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

/** Prod's policy applied on every node through `a`'s backend and every flow held to the simulator; then ireland's metrics. */
async function provePolicy(a: LabAccess, t: TestContext): Promise<void> {
  const report = accessReportOf(plan);
  assert.equal(report?.failedTests, 0, "the policy's own tests hold in the simulator");
  const compiled = compileAccess(plan, { iface: a.ifaceOf }) as CompiledAccess;
  await a.apply(a.render(compiled));
  const filter = new FilterModel(compiled.rulesets, new Map(plan.nodes.map((n) => [n.name, n.address])));
  const r = await compareFlows(a, filter, pairs, plan.nodes.map((n) => n.name), PROBES);
  t.diagnostic(`${a.firewall}: ${r.flows} flows: ${r.allowed} allowed and connected, ${r.denied} denied, dropped at ${[...r.droppedAt].map(([n, k]) => `${n} ${k}`).join(", ")}; ${r.disagreements.length} disagreements`);
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
}

labTest("prod with a policy: every flow the simulator allows connects, every flow it denies is dropped at the node it names", async (t) => {
  await provePolicy(access as LabAccess, t);
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
  await handEdit(a, "hkg");
  const drift = await a.runFirewall("hkg", ["check", file]);
  assert.equal(drift.code, 1);
  assert.match(drift.stdout, a.firewall === "nft" ? /^access: the live table inet wgmesh differs from the ruleset applied \(changed by hand\?\): wgmesh-firewall apply /m : /^access: the live chains WGMESH-INPUT WGMESH-FORWARD differ from the ruleset applied \(changed by hand\?\): wgmesh-firewall apply /m);
  await a.apply(new Map([["hkg", readFileSync(file, "utf8")]]));
  assert.equal((await a.runFirewall("hkg", ["check", file])).code, 0, "re-applying the config's ruleset fixes it");
  await refusesForeign(a, "hkg");
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

/** A rule added by hand to a node's live ruleset, as an operator might. */
async function handEdit(a: LabAccess, node: string): Promise<void> {
  const ns = ["netns", "exec", a.namespaceOf(node)];
  if (a.firewall === "nft") await run("ip", [...ns, "nft", "insert", "rule", "inet", "wgmesh", "input", "tcp", "dport", "9999", "accept"]);
  else await run("ip", [...ns, a.iptables, "-I", "WGMESH-INPUT", "1", "-p", "tcp", "--dport", "9999", "-j", "RETURN"]);
}

/** What the node's netfilter holds, as its backend lists it (iptables: every table iptables-save shows, without counters). */
async function netfilterOf(a: LabAccess, node: string): Promise<string> {
  const ns = ["netns", "exec", a.namespaceOf(node)];
  if (a.firewall === "nft") return (await run("ip", [...ns, "nft", "list", "tables"])).stdout.trim();
  return (await run("ip", [...ns, `${a.iptables}-save`])).stdout
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .map((l) => l.replace(/\[\d+:\d+\]/, ""))
    .join("\n");
}

/** A file that would touch another table as well as wg-mesh's is refused and changes nothing. */
async function refusesForeign(a: LabAccess, node: string): Promise<void> {
  const file = a.rulesetFile(node);
  const foreign = `${file}.foreign`;
  const text = readFileSync(file, "utf8");
  writeFileSync(foreign, a.firewall === "nft" ? text.replace(/\n\}\n$/, "\n}\n\ttable ip nat {\n\t}\n") : `${text}*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n`);
  const before = await netfilterOf(a, node);
  const refused = await a.runFirewall(node, ["apply", foreign]);
  assert.equal(refused.code, 1);
  assert.match(
    refused.stderr,
    a.firewall === "nft" ? /line \d+ is outside table inet wgmesh; wgmesh-firewall changes nothing but its own table/ : /line \d+ touches more than the chains WGMESH-INPUT WGMESH-FORWARD of table filter; wgmesh-firewall changes nothing but its own chains/,
  );
  assert.equal(await netfilterOf(a, node), before, "nothing changed");
  if (a.firewall === "nft") assert.equal(before, "table inet wgmesh");
  assert.equal((await a.runFirewall(node, ["check", file])).code, 0);
}

const iptablesSkip = blocker ? `lab cannot run here: ${blocker}` : !labIptables() ? "iptables-restore not found: apt-get install iptables (scripts/setup.sh does)" : process.env.WGMESH_LAB_FIREWALL === "iptables" ? "the tests above ran on iptables already" : false;

test("prod with a policy through iptables (iptables-legacy): every flow as the simulator says, dropped at the node it names; a hand edit is a finding, another table refused, removal leaves nothing of wg-mesh's", { skip: iptablesSkip, timeout: 240_000 }, async (t) => {
  const l = lab as Lab;
  await (access as LabAccess).remove(plan.nodes.map((n) => n.name));
  const a = new LabAccess(l, { firewall: "iptables" });
  try {
    t.diagnostic(`iptables backend: ${a.iptables}`);
    // The host's own rules, which wg-mesh must leave as they are (one like wg0.conf's PostUp adds on a transit node).
    await run("ip", ["netns", "exec", a.namespaceOf("hkg"), a.iptables, "-A", "FORWARD", "-i", a.ifaceOf("hkg"), "-j", "ACCEPT"]);
    await run("ip", ["netns", "exec", a.namespaceOf("hkg"), a.iptables, "-A", "INPUT", "-s", "192.0.2.1", "-j", "ACCEPT"]);
    const pristine = await netfilterOf(a, "hkg");
    await provePolicy(a, t);
    const file = a.rulesetFile("hkg");
    assert.equal((await a.runFirewall("hkg", ["check", file])).code, 0);
    await handEdit(a, "hkg");
    const drift = await a.runFirewall("hkg", ["check", file]);
    assert.equal(drift.code, 1);
    assert.match(drift.stdout, /^access: the live chains WGMESH-INPUT WGMESH-FORWARD differ from the ruleset applied \(changed by hand\?\): wgmesh-firewall apply /m);
    await a.apply(new Map([["hkg", readFileSync(file, "utf8")]]));
    assert.equal((await a.runFirewall("hkg", ["check", file])).code, 0, "re-applying the config's ruleset fixes it");
    // Applying again changes nothing and adds no second jump.
    const again = await a.runFirewall("hkg", ["apply", file]);
    assert.match(again.stderr, /is applied already; nothing to change/);
    const live = await netfilterOf(a, "hkg");
    assert.equal(live.match(/-j WGMESH-INPUT$/gm)?.length, 1);
    assert.match(live, new RegExp(`^-A FORWARD -i ${a.ifaceOf("hkg")} -j WGMESH-FORWARD\\n-A FORWARD -i ${a.ifaceOf("hkg")} -j ACCEPT$`, "m"), "the jump comes first, the host's rule stays");
    await refusesForeign(a, "hkg");
    await a.remove(plan.nodes.map((n) => n.name));
    assert.equal(await netfilterOf(a, "hkg"), pristine, "removal leaves the tables as they were before wg-mesh");
    const flows: Flow[] = [{ from: "gru", to: "syd", probe: { proto: "tcp", port: 22 } }];
    assert.equal((await a.probe(flows, 3000)).get(flowKey(flows[0] as Flow)), "open", "flat again");
  } finally {
    await a.close();
  }
});
