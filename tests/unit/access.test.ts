/**
 * Access inside the mesh, offline: services and their sets, the declaration's checks (one line per
 * problem naming its path and fix), groups resolved to nodes, groups as prefixes, the nftables
 * ruleset each node gets, the simulator's verdict per flow (allowed by which rule, or dropped where),
 * the plan's report and exit codes, and the diff's flows opened and closed. The real netfilter's
 * agreement is tests/lab/access*.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { compileAccess, FilterModel, renderRuleset, rulesetHeader, verdictText, type CompiledAccess } from "../../infra/access";
import { coveringPrefixes } from "../../infra/access/compile";
import { diffAccess, accessDiffLines } from "../../infra/access/diff";
import { accessReportOf } from "../../infra/access/report";
import { ACCESS_RULESET_FILE } from "../../infra/access/files";
import { renderMeshFiles } from "../../infra/render/files";
import { covers, formatSet, parseService, setOf, subtract, type Probe, type ServiceItem } from "../../infra/access/services";
import { parseCidr, formatPrefix, containsIp, parseIPv4 } from "../../infra/cidr";
import { parseMeshConfig } from "../../infra/config";
import { diffMeshes } from "../../infra/diff";
import { MeshConfigError, type MeshPlan } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { simulatePlan } from "../../infra/simulate/plan";
import type { PairResult } from "../../infra/simulate";
import { findOnPath } from "../../lab/preflight";
import { PROD_POLICY, prodRaw, prodWith } from "../support/prod-access";
import { rng } from "../support/random-mesh";

const REPO = resolve(__dirname, "..", "..");
const BIN = join(REPO, "cli", "bin.js");

function item(text: string): ServiceItem {
  const s = parseService(text);
  assert.ok(!("problem" in s), `${text}: ${"problem" in s ? s.problem : ""}`);
  return s;
}

/** The lines prod with this `access` is refused with; none when it is accepted. */
function issuesWith(access: unknown): string[] {
  try {
    parseMeshConfig({ ...prodRaw(), access });
    return [];
  } catch (err) {
    if (!(err instanceof MeshConfigError)) throw err;
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

function pairsOf(plan: MeshPlan): Map<string, PairResult> {
  return new Map(simulatePlan(plan).pairs.map((p) => [`${p.from}>${p.to}`, p]));
}

test("services: every written form parses, ports out of range and odd forms are refused with the fix", () => {
  assert.deepEqual(item("tcp/443"), { kind: "ports", proto: "tcp", range: { lo: 443, hi: 443 } });
  assert.deepEqual(item("UDP/8000-8100"), { kind: "ports", proto: "udp", range: { lo: 8000, hi: 8100 } });
  assert.deepEqual(item("tcp"), { kind: "ports", proto: "tcp", range: { lo: 0, hi: 65535 } });
  assert.deepEqual(item("icmp"), { kind: "icmp" });
  assert.deepEqual(item("any"), { kind: "any" });
  const problem = (t: string) => (parseService(t) as { problem: string }).problem;
  assert.match(problem("tcp/0"), /port 0 is out of range: ports are 1 to 65535/);
  assert.match(problem("tcp/65536"), /port 65536 is out of range/);
  assert.match(problem("udp/90-80"), /runs backwards; write udp\/80-90/);
  assert.match(problem("icmp/8"), /takes no port/);
  assert.match(problem("sctp/9"), /is not a protocol wg-mesh filters/);
  assert.match(problem("tcp/http"), /is not a port or range; write tcp\/443/);
});

test("service sets: union, subtraction and containment over port ranges, and how they read", () => {
  const web = setOf([item("tcp/80"), item("tcp/443"), item("tcp/8000-8100")]);
  assert.equal(formatSet(web), "tcp/80, tcp/443, tcp/8000-8100");
  assert.equal(formatSet(setOf([item("tcp/1-100"), item("tcp/50-200")])), "tcp/1-200");
  assert.ok(covers(web, setOf([item("tcp/8050")])));
  assert.ok(!covers(web, setOf([item("tcp/8050-8200")])));
  assert.equal(formatSet(subtract(setOf([item("tcp")]), setOf([item("tcp/443")]))), "tcp except 443");
  assert.equal(formatSet(subtract(setOf([item("any")]), setOf([item("tcp/22")]))), "tcp except 22, udp, icmp, other protocols");
  assert.equal(formatSet(setOf([item("tcp"), item("udp"), item("icmp")])), "tcp, udp, icmp");
  assert.equal(formatSet(setOf([item("any")])), "any");
});

test("no access declared: the spec has none, no ruleset is compiled, and plan says the mesh is flat in one line", () => {
  const plan = planMesh(parseMeshConfig(prodRaw()));
  assert.equal(plan.spec.access, undefined);
  assert.equal(compileAccess(plan), undefined);
  assert.equal(accessReportOf(plan), undefined);
  const r = spawnSync(process.execPath, [BIN, "plan", "--stack", "prod"], { cwd: REPO, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split("\n").filter((l) => l.startsWith("Access"));
  assert.deepEqual(lines, ["Access: no policy declared: every node reaches every other on every port and protocol (a flat mesh); declare access to restrict it (docs/access.md)"]);
});

test("bad access declarations: one line each, naming the path and the fix; nothing else is reported", () => {
  assert.deepEqual(
    issuesWith({
      groups: {
        backends: { roles: ["backend"] },
        nobody: { roles: ["pop"], areas: ["europe"] },
        ireland: ["hkg"],
        typo: { role: ["pop"] },
        where: { regions: ["eurpoe"] },
        blank: {},
        loop1: { groups: ["loop2"] },
        loop2: { groups: ["loop1"] },
      },
      rules: [
        { from: "backend", to: "*", allow: ["tcp/443", "tcp/70000"] },
        { from: "backends", to: "*", allow: [] },
      ],
      tests: [{ from: "hkg", to: "ireland" }],
    }),
    [
      "access.groups.ireland: ireland is also a node's name, and rules name nodes and groups alike; rename the group",
      "access.groups.typo.role: unknown key; did you mean roles?",
      'access.groups.where.regions[0]: unknown region "eurpoe"; did you mean europe?',
      "access.groups.blank: selects no node: give roles, regions, areas, clouds or sites to match, or nodes or groups to include",
      "access.groups.loop1: contains itself (loop1 -> loop2 -> loop1); a group may name only other groups",
      "access.groups.loop2: contains itself (loop2 -> loop1 -> loop2); a group may name only other groups",
      "access.groups.nobody: matches no node; correct what it selects, or remove it and the rules that name it",
      'access.rules[0].from[0]: unknown group or node "backend"; did you mean backends? (* is every node)',
      'access.rules[0].allow[1]: "tcp/70000": port 70000 is out of range: ports are 1 to 65535',
      "access.rules[1].allow: allows nothing; list services such as tcp/443, or remove the rule",
      "access.tests[0]: checks nothing; give accept (services every pair must get) or deny (services no pair may get)",
    ],
  );
});

test("rules that can never match are refused: a node to itself, one an earlier rule covers, icmp when echo already passes", () => {
  const groups = { backends: { roles: ["backend"] }, hub: ["ireland"], everyone: { groups: ["backends", "hub"], nodes: ["hkg"] } };
  assert.deepEqual(
    issuesWith({
      groups,
      rules: [
        { from: "hub", to: "hub", allow: ["tcp/22"] },
        { from: "backends", to: "*", allow: ["tcp/443", "tcp/8000-8100"] },
        { from: "nrt", to: "hub", allow: ["tcp/8080"] },
        { from: "everyone", to: "everyone", allow: ["icmp"] },
      ],
    }),
    [
      "access.rules[0]: never matches: its only pair is ireland to itself, and a node's traffic to itself never crosses the tunnel; remove it or widen from or to",
      "access.rules[2]: never matches: everything it allows is allowed before it, by access.rules[1]; remove it",
      "access.rules[3]: never matches: everything it allows is allowed before it, by echo: all (icmp between every pair); remove it, or set echo: neighbours",
    ],
  );
  // With echo between neighbours only, icmp needs the rule, so it is kept.
  assert.deepEqual(issuesWith({ echo: "neighbours", groups, rules: [{ from: "everyone", to: "everyone", allow: ["icmp"] }] }), []);
});

test("what would cut the mesh's own traffic or lock admins out is refused: echo off, adminFrom without tcp/22", () => {
  assert.deepEqual(issuesWith({ echo: "none", rules: [] }), [
    'access.echo: must not turn ICMP echo off: "none" would drop it between direct neighbours, which the failover watchdog probes each neighbour with; write neighbours (echo between direct neighbours only, elsewhere where a rule allows icmp)',
  ]);
  assert.deepEqual(issuesWith({ adminFrom: ["ireland"], rules: [{ from: "ireland", to: ["hkg", "nrt"], allow: ["tcp/22"] }] }), [
    'access.adminFrom: admins SSH in over the mesh from ireland, but no rule lets them reach tcp/22 on gru, iad, ord, lax, lhr, fra, cdg, sin and 1 more, which would lock them out; add a rule such as { from: [ireland], to: "*", allow: [tcp/22] }',
  ]);
  assert.deepEqual(issuesWith({ adminFrom: ["ireland"], rules: [{ from: "ireland", to: "*", allow: ["tcp"] }] }), []);
});

test("groups: attributes must all match, nodes and groups add members; a list is short for nodes", () => {
  const plan = prodWith({
    groups: {
      "apac-backends": { roles: ["backend"], areas: ["apac"] },
      "aws-or-gcp-americas": { clouds: ["aws", "gcp"], areas: ["americas"] },
      "apac-and-hub": { groups: ["apac-backends"], nodes: ["ireland"] },
      pair: ["lhr", "fra"],
    },
    rules: [{ from: "pair", to: "apac-and-hub", allow: ["tcp/443"] }],
  });
  const book = (compileAccess(plan) as CompiledAccess).policy.book;
  assert.deepEqual([...book.group("apac-backends")].sort(), ["nrt", "sin", "syd"]);
  assert.deepEqual([...book.group("aws-or-gcp-americas")].sort(), ["gru", "iad", "lax"]);
  assert.deepEqual([...book.group("apac-and-hub")].sort(), ["ireland", "nrt", "sin", "syd"]);
  assert.deepEqual([...book.group("pair")].sort(), ["fra", "lhr"]);
});

test("groups become the fewest prefixes that hold every member and no other node (random address sets)", () => {
  const r = rng(22);
  for (let round = 0; round < 200; round++) {
    const all = new Set<number>();
    const base = parseIPv4("10.60.0.0") as number;
    while (all.size < 2 + Math.floor(r() * 40)) all.add(base + Math.floor(r() * 1024));
    const members = [...all].filter(() => r() < 0.5);
    const others = [...all].filter((ip) => !members.includes(ip));
    const prefixes = coveringPrefixes(members, others, [{ base, len: 16 }]);
    for (const ip of members) assert.ok(prefixes.some((p) => containsIp(p, ip)), `member ${ip} covered`);
    for (const ip of others) assert.ok(!prefixes.some((p) => containsIp(p, ip)), `other ${ip} left out by ${prefixes.map(formatPrefix).join(", ")}`);
    // Fewest: no two prefixes are halves of one that would hold only members.
    for (const p of prefixes) for (const q of prefixes) if (p !== q && p.len === q.len && p.len > 16 && p.base >>> (33 - p.len) === q.base >>> (33 - q.len)) assert.fail(`${formatPrefix(p)} and ${formatPrefix(q)} merge`);
  }
  // Prod's backends, by region subnets where whole regions are backends.
  const plan = prodWith();
  const ireland = (compileAccess(plan) as CompiledAccess).rulesets.get("ireland");
  assert.deepEqual(ireland?.input.find((x) => x.id === "1")?.from.map(formatPrefix), ["10.50.1.0/24", "10.50.2.0/23", "10.50.4.0/24"]);
  assert.ok(parseCidr("10.50.2.0/23"));
});

test("rulesets: the tunnel only, replies first, echo and rules in order with named counters, a recorded drop last; forward only where the node forwards", () => {
  const compiled = compileAccess(prodWith()) as CompiledAccess;
  const hub = renderRuleset(compiled.rulesets.get("ireland") as NonNullable<ReturnType<typeof compiled.rulesets.get>>, rulesetHeader("ireland", 3));
  const nrt = renderRuleset(compiled.rulesets.get("nrt") as NonNullable<ReturnType<typeof compiled.rulesets.get>>, rulesetHeader("nrt", 3));
  const top = hub.split("\n").filter((l) => l && !l.startsWith("\t") && !l.startsWith("#"));
  assert.deepEqual(top, ["table inet wgmesh {}", "delete table inet wgmesh", "table inet wgmesh {", "}"]);
  const chain = (text: string, name: string) => {
    const lines = text.split("\n");
    const start = lines.indexOf(`\tchain ${name} {`);
    return start < 0 ? [] : lines.slice(start + 1, lines.indexOf("\t}", start)).map((l) => l.trim());
  };
  for (const text of [hub, nrt]) {
    const input = chain(text, "input");
    assert.deepEqual(input.slice(0, 3), ["type filter hook input priority filter; policy accept;", 'iifname != "wg0" accept', "ct state established,related accept"]);
    assert.equal(input.at(-1), 'counter drop comment "wgmesh drop"');
  }
  assert.deepEqual(chain(nrt, "input").slice(3, -3), [
    'ip saddr { 10.50.0.0/24, 10.50.5.0/24 } icmp type echo-request counter accept comment "wgmesh echo-neighbours"',
    'ip saddr 10.50.0.0/24 tcp dport 22 counter accept comment "wgmesh rule 3"',
  ]);
  assert.deepEqual(chain(nrt, "forward"), [], "a backend forwards nothing, so it has no forward chain");
  assert.ok(chain(hub, "forward").includes('ip saddr 10.50.4.0/24 ip daddr 10.50.5.0/24 tcp dport 443 counter accept comment "wgmesh rule 2"'));
  assert.equal([...compiled.rulesets.values()].filter((r) => r.forward).map((r) => r.node).sort().join(","), "hkg,ireland");
});

test("the simulator: every flow allowed by its rule or dropped at the first node that receives it, with why", () => {
  const plan = prodWith();
  const compiled = compileAccess(plan) as CompiledAccess;
  const pairs = pairsOf(plan);
  const filter = new FilterModel(compiled.rulesets, new Map(plan.nodes.map((n) => [n.name, n.address])));
  const verdict = (from: string, to: string, probe: Probe) => verdictText(filter.verdict(pairs.get(`${from}>${to}`) as PairResult, probe));
  assert.equal(verdict("nrt", "hkg", { proto: "tcp", port: 443 }), "allowed by rule 2");
  assert.equal(verdict("gru", "ireland", { proto: "tcp", port: 443 }), "allowed by rule 1");
  assert.equal(verdict("ireland", "syd", { proto: "tcp", port: 22 }), "allowed by rule 3");
  assert.equal(verdict("ireland", "syd", { proto: "icmp" }), "allowed (echo-neighbours)");
  // Forwarded flows stop at the first node that forwards them; direct ones at the destination.
  assert.equal(verdict("nrt", "sin", { proto: "tcp", port: 22 }), "dropped at hkg (forward: no rule allows nrt -> sin tcp/22)");
  assert.equal(verdict("gru", "iad", { proto: "tcp", port: 443 }), "dropped at ireland (forward: no rule allows gru -> iad tcp/443)");
  assert.equal(verdict("gru", "iad", { proto: "icmp" }), "dropped at ireland (forward: no rule allows gru -> iad icmp)");
  assert.equal(verdict("hkg", "ireland", { proto: "tcp", port: 443 }), "dropped at ireland (input: no rule allows hkg -> ireland tcp/443)");
  assert.equal(verdict("nrt", "ireland", { proto: "udp", port: 53 }), "dropped at ireland (input: no rule allows nrt -> ireland udp/53)");
  // A node running no ruleset judges nothing: the next one does.
  const lagging = new Map(compiled.rulesets);
  lagging.delete("ireland");
  const partial = new FilterModel(lagging, new Map(plan.nodes.map((n) => [n.name, n.address])));
  assert.equal(verdictText(partial.verdict(pairs.get("gru>iad") as PairResult, { proto: "tcp", port: 443 })), "dropped at iad (input: no rule allows gru -> iad tcp/443)");
});

test("plan: the matrix, the pairs no rule allows and the tests; a failing test is named with where its flow goes, and plan exits 3", () => {
  const report = accessReportOf(prodWith());
  assert.ok(report);
  assert.equal(report.failedTests, 0);
  assert.deepEqual(report.matrix?.names, ["backends", "apac-backends", "apac-pops", "hub"]);
  assert.deepEqual(report.matrix?.cells[1], ["", "", "tcp/443 icmp", "tcp/443 icmp"].map((c, i) => (i < 2 ? "-" : c)));
  assert.equal(report.matrix?.cells[0]?.[2], "tcp/443* icmp*", "only the APAC backends of all backends reach the APAC POP");
  assert.equal(report.noRule.pairs, 108);
  // Every ordered pair x every rule, on request (plan --json on a small mesh).
  const flows = accessReportOf(prodWith(), { flows: true })?.flows ?? [];
  assert.equal(flows.length, 132);
  const pair = (from: string, to: string) => flows.find((f) => f.from === from && f.to === to);
  assert.deepEqual(pair("gru", "ireland")?.rules[0], { rule: 1, applies: true, services: [{ service: "tcp/443", verdict: "allowed by rule 1" }, { service: "icmp", verdict: "allowed (echo-neighbours)" }] });
  assert.deepEqual(pair("nrt", "sin")?.rules[2], { rule: 3, applies: false, services: [{ service: "tcp/22", verdict: "dropped at hkg (forward: no rule allows nrt -> sin tcp/22)" }] });
  assert.equal(pair("ireland", "nrt")?.allowed, "tcp/22, icmp");
  const failing = accessReportOf(prodWith({ ...PROD_POLICY, tests: [{ from: "gru", to: "hkg", accept: ["tcp/443"] }, { from: "hub", to: "backends", deny: ["tcp/22"] }] }));
  assert.equal(failing?.failedTests, 2);
  assert.deepEqual(failing?.tests.map((t) => t.examples[0]), [
    { from: "gru", to: "hkg", service: "tcp/443", expected: "allowed", found: "dropped at ireland (forward: no rule allows gru -> hkg tcp/443)" },
    { from: "ireland", to: "gru", service: "tcp/22", expected: "denied", found: "allowed by rule 3" },
  ]);
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-access-"));
  try {
    writeFileSync(join(dir, "Pulumi.yaml"), "name: wg-mesh\nruntime: nodejs\n");
    writeFileSync(join(dir, "Pulumi.x.yaml"), stringify({ config: { "wg-mesh:mesh": { ...prodRaw(), access: { ...PROD_POLICY, tests: [{ from: "gru", to: "hkg", accept: ["tcp/443"] }] } } } }));
    const r = spawnSync(process.execPath, [BIN, "plan", "--stack", "x"], { cwd: dir, encoding: "utf8" });
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stdout, /^ {2}tests: 0 of 1 hold$/m);
    assert.match(r.stdout, /^ {4}FAILED access\.tests\[0\] gru -> hkg: accept tcp\/443: 1 flow over 1 pairs$/m);
    assert.match(r.stdout, /^ {6}gru -> hkg tcp\/443: expected allowed, dropped at ireland \(forward: no rule allows gru -> hkg tcp\/443\)$/m);
    const json = spawnSync(process.execPath, [BIN, "plan", "--stack", "x", "--json"], { cwd: dir, encoding: "utf8" });
    assert.equal(json.status, 3);
    assert.equal((JSON.parse(json.stdout) as { access: { failedTests: number } }).access.failedTests, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("diff: a new rule's flows are listed as now allowed, by group; removing the policy lists what it lets through again", () => {
  const before = prodWith();
  const after = prodWith({ ...PROD_POLICY, rules: [...PROD_POLICY.rules, { from: "backends", to: "backends", allow: ["udp/53"] }] });
  const pairs = (p: MeshPlan) => simulatePlan(p).pairs;
  const d = diffAccess(before, after, pairs(before), pairs(after));
  assert.ok(d);
  assert.deepEqual(d.flows, [{ now: "allowed", from: "backends", to: "backends", services: "udp/53", pairs: 90 }]);
  assert.equal(d.policy, "changed");
  assert.deepEqual(d.rulesets.changed.length, 12);
  assert.match(accessDiffLines(d).join("\n"), /^ {2}now allowed: backends -> backends: udp\/53 \(90 ordered pairs\)$/m);
  // The whole diff: a change, exit 1; a head whose tests fail, exit 3.
  assert.equal(diffMeshes(before, after).exitCode, 1);
  const failing = prodWith({ ...PROD_POLICY, rules: [...PROD_POLICY.rules, { from: "backends", to: "backends", allow: ["tcp/22"] }] });
  const broken = diffMeshes(before, failing);
  assert.equal(broken.exitCode, 3);
  assert.deepEqual(broken.access?.failingTests.map((t) => t.index), [1]);
  const flat = planMesh(parseMeshConfig(prodRaw()));
  const removed = diffAccess(before, flat, pairs(before), pairs(flat));
  assert.equal(removed?.policy, "removed");
  assert.ok(removed?.flows.every((f) => f.now === "allowed"));
  assert.ok(removed?.flows.some((f) => f.from === "apac-backends" && f.to === "backends" && f.services === "any" && f.pairs === 27));
  assert.equal(diffAccess(flat, flat, pairs(flat), pairs(flat)), undefined, "no policy on either side: no access section");
});

test("wgmesh-firewall.sh is shellcheck clean", () => {
  const shellcheck = findOnPath("shellcheck");
  if (!shellcheck) assert.fail("shellcheck not found: install it (scripts/setup.sh does)");
  const r = spawnSync(shellcheck, ["--shell=bash", "--severity=style", join(REPO, "infra", "render", "wgmesh-firewall.sh")], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test("render writes each node's ruleset beside its wg0.conf when access is declared, and none for a flat mesh", () => {
  const files = renderMeshFiles(prodWith(), { project: "wg-mesh", stack: "prod", ephemeralKeys: false });
  const rulesets = files.filter((f) => f.path.endsWith(`/${ACCESS_RULESET_FILE}`));
  assert.equal(rulesets.length, 12);
  assert.ok(rulesets.every((f) => !f.secret && f.content.includes("table inet wgmesh {")));
  const flat = renderMeshFiles(planMesh(parseMeshConfig(prodRaw())), { project: "wg-mesh", stack: "prod", ephemeralKeys: false });
  assert.equal(flat.filter((f) => f.path.endsWith(ACCESS_RULESET_FILE)).length, 0);
});
