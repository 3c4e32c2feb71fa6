/**
 * Who may carry others' traffic is the declaration's: transitRoles (default hub and POPs) and a
 * node's own transit:, never a node behind NAT, honoured in every topology, auto included; plan
 * lists every node that forwards with why and the pairs that cross it, and under auto says what
 * the restriction costs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseMeshConfig } from "../../infra/config";
import { transitReport } from "../../infra/mesh-report";
import type { MeshSpec, NodeSpec, TopologyMode } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { DEFAULT_TRANSIT_ROLES, transitPermission } from "../../infra/plan/transit";
import { transitCost, unrestrictedTransit } from "../../infra/plan/transit-cost";
import { simulatePlanSummary } from "../../infra/simulate/plan";
import { runCliInProcess } from "../support/cli-in-process";
import { baseRaw, configIssuesOf } from "../support/raw-config";
import { seedSpec } from "../support/seed-spec";

const REPO = join(__dirname, "..", "..");
const TOPOLOGIES: TopologyMode[] = ["hub", "regional", "full", "auto"];

const forwarders = (spec: MeshSpec): string[] =>
  planMesh(spec)
    .nodes.filter((n) => n.forwarding)
    .map((n) => n.name);

const roleOf = (spec: MeshSpec, name: string) => spec.nodes.find((n) => n.name === name)?.role;

function withNode(spec: MeshSpec, name: string, change: Partial<NodeSpec>): MeshSpec {
  return { ...spec, nodes: spec.nodes.map((n) => (n.name === name ? { ...n, ...change } : n)) };
}

test("the rule: behind NAT never; a node's own transit: decides for it; otherwise its role, by transitRoles (default hub and pop)", () => {
  assert.deepEqual(DEFAULT_TRANSIT_ROLES, ["hub", "pop"]);
  const node = (n: Partial<NodeSpec>): NodeSpec => ({ name: "x", role: "backend", region: "r", site: "dub", address: "10.0.0.2", cloud: "aws", aws: { region: "eu-west-1" }, links: [], ...n });
  const mesh = {};
  assert.deepEqual(transitPermission(node({}), mesh), { may: false, by: "role", why: "backends run workloads and do not carry others' traffic (by default only hub and pop nodes do)", fix: "set nodes.x.transit: true" });
  assert.equal(transitPermission(node({ role: "pop" }), mesh).may, true);
  assert.equal(transitPermission(node({ role: "hub" }), mesh).may, true);
  assert.deepEqual(transitPermission(node({ transit: true }), mesh), { may: true, by: "node", why: "nodes.x.transit is true" });
  assert.equal(transitPermission(node({ role: "pop", transit: false }), mesh).may, false);
  assert.equal(transitPermission(node({}), { transitRoles: ["hub", "pop", "backend"] }).may, true);
  assert.equal(transitPermission(node({ role: "pop" }), { transitRoles: ["hub"] }).may, false);
  const nat = node({ cloud: "external", aws: undefined, external: {}, transit: true });
  assert.equal(transitPermission(nat, { transitRoles: ["hub", "pop", "backend"] }).by, "nat", "behind NAT wins over everything");
  assert.equal(transitPermission(node({ cloud: "external", aws: undefined, external: { endpoint: "198.18.0.1" } }), { transitRoles: ["hub", "pop", "backend"] }).may, true);
});

test("the declaration: transitRoles and a node's transit, checked where they are written", () => {
  const spec = parseMeshConfig({ ...baseRaw(), transitRoles: ["hub", "pop", "backend"], nodes: { ...baseRaw().nodes, hkg: { ...baseRaw().nodes.hkg, transit: false } } });
  assert.deepEqual(spec.transitRoles, ["hub", "pop", "backend"]);
  assert.equal(spec.nodes.find((n) => n.name === "hkg")?.transit, false);
  assert.equal(parseMeshConfig(baseRaw()).transitRoles, undefined, "absent: the default");
  const refused = (raw: unknown, path: string, message: RegExp) => {
    const issues = configIssuesOf(raw);
    assert.deepEqual(issues.map((i) => i.path), [path], issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
    assert.match(issues[0]?.message ?? "", message);
  };
  refused({ ...baseRaw(), transitRoles: ["pop"] }, "transitRoles", /^must include hub: the hub carries its spokes' traffic in every topology; write \[hub, pop\]$/);
  refused({ ...baseRaw(), transitRoles: ["hub", "pop", "pop"] }, "transitRoles[2]", /pop is listed twice/);
  refused({ ...baseRaw(), transitRoles: ["hub", "router"] }, "transitRoles[1]", /must be one of hub, pop, backend/);
  refused({ ...baseRaw(), transitRoles: "hub" }, "transitRoles", /must be a list of roles/);
  const raw = baseRaw();
  raw.nodes.ireland = { ...raw.nodes.ireland, transit: false };
  refused(raw, "nodes.ireland.transit", /the hub carries its spokes' traffic in every topology; remove transit: false/);
  const nat = baseRaw();
  nat.nodes.laptop = { role: "backend", region: "central", site: "dub", address: "10.50.0.9", cloud: "external", external: {}, transit: true };
  refused(nat, "nodes.laptop.transit", /a node behind NAT never carries others' traffic/);
  refused({ ...baseRaw(), nodes: { ...baseRaw().nodes, nrt: { ...baseRaw().nodes.nrt, transit: "yes" } } }, "nodes.nrt.transit", /must be true or false/);
});

test("by default no backend forwards, in every topology: prod under auto had 7 backends forwarding", () => {
  for (const topology of TOPOLOGIES) {
    const spec = seedSpec({ topology });
    const fw = forwarders(spec);
    assert.deepEqual(fw.filter((n) => roleOf(spec, n) === "backend"), [], topology);
    if (topology !== "full") assert.ok(fw.includes("ireland"), `${topology}: the hub forwards`);
    assert.equal(simulatePlanSummary(planMesh(spec)).reachable, 132, `${topology}: every pair still reachable`);
  }
  // What auto did before the rule was the declaration's, and does again when asked to.
  const free = forwarders(unrestrictedTransit(seedSpec({ topology: "auto" })));
  assert.equal(free.filter((n) => roleOf(seedSpec(), n) === "backend").length, 7, free.join(", "));
});

test("a node's own switch is honoured by every topology: a POP kept from forwarding, a backend let", () => {
  for (const topology of TOPOLOGIES) {
    const noHkg = withNode(seedSpec({ topology }), "hkg", { transit: false });
    assert.ok(!forwarders(noHkg).includes("hkg"), `${topology}: hkg forwards with transit: false`);
    assert.equal(simulatePlanSummary(planMesh(noHkg)).reachable, 132, topology);
  }
  // Under auto, letting the backends that would help (those the unrestricted plan uses) forward, node by node.
  const free = planMesh(unrestrictedTransit(seedSpec({ topology: "auto" })));
  const helpful = free.nodes.filter((n) => n.forwarding && n.role === "backend").map((n) => n.name);
  let spec = seedSpec({ topology: "auto" });
  for (const name of helpful) spec = withNode(spec, name, { transit: true });
  const fw = forwarders(spec);
  assert.ok(fw.some((n) => helpful.includes(n)), `some of ${helpful.join(", ")} forward once allowed: ${fw.join(", ")}`);
  for (const n of fw) assert.ok(roleOf(spec, n) !== "backend" || helpful.includes(n), `${n} forwards without being let`);
  // And transitRoles for all of them at once.
  assert.ok(forwarders(seedSpec({ topology: "auto", transitRoles: ["hub", "pop", "backend"] })).some((n) => roleOf(spec, n) === "backend"));
});

test("under auto the restriction's cost is measured against every public node forwarding; other topologies have none to report", () => {
  const plan = planMesh(seedSpec({ topology: "auto" }));
  const cost = transitCost(plan);
  assert.ok(cost?.compared);
  assert.deepEqual(new Set(cost.kept), new Set(plan.nodes.filter((n) => n.role === "backend").map((n) => n.name)));
  assert.equal(cost.wouldForward.length, 7);
  assert.equal(cost.here?.withinBound, plan.latency?.withinBound);
  assert.equal(cost.unrestricted?.max, planMesh(unrestrictedTransit(plan.spec)).latency?.stretch.max);
  assert.equal(transitCost(planMesh(seedSpec({ topology: "regional" }))), undefined);
  assert.equal(transitCost(planMesh(seedSpec({ topology: "auto", transitRoles: ["hub", "pop", "backend"] }))), undefined, "nothing kept, nothing to cost");
  const large = transitCost(plan, 10);
  assert.deepEqual({ compared: large?.compared, wouldForward: large?.wouldForward }, { compared: false, wouldForward: [] }, "above the size limit, said and not computed");
});

test("wgmesh plan lists every node that forwards, why it may and the pairs that cross it, who may not, and under auto the cost", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-transit-"));
  try {
    writeFileSync(join(dir, "Pulumi.yaml"), "name: wg-mesh\nruntime: nodejs\n");
    writeFileSync(join(dir, "Pulumi.x.yaml"), readFileSync(join(REPO, "Pulumi.prod.yaml"), "utf8").replace(/topology: regional.*$/m, "topology: auto"));
    const r = await runCliInProcess(["plan", "--stack", "x"], dir);
    assert.equal(r.code, 0, r.stderr);
    const section = r.stdout.split("\n\n").find((b) => b.startsWith("Transit")) ?? "";
    const lines = section.split("\n");
    const plan = planMesh(seedSpec({ topology: "auto" }));
    const report = transitReport(plan);
    const fw = plan.nodes.filter((n) => n.forwarding);
    assert.equal(lines[0], `Transit: ${fw.length} of 12 nodes forward others' traffic`);
    for (const n of fw) {
      const line = lines.find((l) => l.startsWith(`  ${n.name} `));
      assert.ok(line, `${n.name} listed`);
      assert.match(line, new RegExp(` ${report[n.name]?.pairs} ordered pairs cross it, e\\.g\\. [a-z]+ -> [a-z]+.*; its role, ${n.role}, carries transit \\(by default\\)$`));
    }
    assert.ok(lines.includes("  may not forward: 10 backends (by default only hub and pop nodes do)"), section);
    assert.match(section, /^ {2}the restriction binds: with every public node allowed to forward, auto would route through 7 of them \(/m);
    assert.match(section, /^ {4}this plan: +132 of 132 pairs within the bound, stretch median [\d.]+, p90 [\d.]+, max [\d.]+$/m);
    assert.match(section, /^ {4}every public node: 132 of 132 pairs within the bound, stretch median [\d.]+, p90 [\d.]+, max 1\.22$/m);
    const json = JSON.parse((await runCliInProcess(["plan", "--stack", "x", "--json"], dir)).stdout) as { transit: { forwarding: Record<string, { pairs: number; why: string }>; mayNot: Record<string, { by: string }>; cost: { wouldForward: string[] } } };
    assert.deepEqual(Object.keys(json.transit.forwarding).sort(), fw.map((n) => n.name).sort());
    assert.equal(json.transit.forwarding.ireland?.pairs, report.ireland?.pairs);
    assert.equal(Object.keys(json.transit.mayNot).length, 10);
    assert.equal(json.transit.cost.wouldForward.length, 7);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
