/**
 * The validator's holes of issue 9, each as the example the issue gives and the class around
 * it: reserved ranges, admin CIDR unions, unusable endpoints, control characters and length in
 * every string field, numbers a later stage enforces, hostile YAML, and messages in the
 * project's own words with values quoted.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadStackConfig, parseMeshConfig } from "../../infra/config";
import { MeshConfigError, type ConfigIssue } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { baseRaw, configIssuesOf, type Raw } from "../support/raw-config";
import { hasUnprintable } from "../../infra/quote";
import { renderCloudInit } from "../../infra/render/cloudinit";
import { renderAll, throwAwayKeys, offlineEndpoints } from "../../infra/render/mesh";

const base = baseRaw;

function edit(fn: (raw: Raw) => void): Raw {
  const raw = base();
  fn(raw);
  return raw;
}

const issuesOf = configIssuesOf;

/** Every message is one plain line: no control character, no raw zod text. */
function assertClean(issues: ConfigIssue[]): void {
  for (const i of issues) {
    assert.ok(!hasUnprintable(i.path) && !hasUnprintable(i.message), `unprintable in ${JSON.stringify(i)}`);
    assert.doesNotMatch(i.message, /Invalid input|expected \w+, received|Invalid (option|union|type)/, i.message);
  }
}

function refused(raw: unknown, path: string, message: RegExp): void {
  const issues = issuesOf(raw);
  assertClean(issues);
  const hit = issues.find((i) => i.path === path);
  assert.ok(hit, `no issue at ${path}; issues: ${issues.map((i) => `${i.path}: ${i.message}`).join(" | ")}`);
  assert.match(hit.message, message);
}

test("overlay 0.0.0.0/0 (which planned '20 of 20' and wrote AllowedIPs = 0.0.0.0/0) and every reserved range are refused", () => {
  const everything = edit((r) => {
    r.overlay = "0.0.0.0/0";
  });
  refused(everything, "overlay", /0\.0\.0\.0\/0 is the whole internet/);
  const ranges: [string, RegExp][] = [
    ["0.0.0.0/8", /"this network"/],
    ["127.0.0.0/16", /loopback/],
    ["169.254.0.0/16", /link-local .*metadata service/],
    ["169.0.0.0/8", /link-local/],
    ["224.0.0.0/8", /multicast/],
    ["240.0.0.0/8", /reserved/],
    ["128.0.0.0/1", /link-local|multicast|reserved/],
  ];
  for (const [overlay, why] of ranges) refused(edit((r) => (r.overlay = overlay)), "overlay", why);
  // Private and shared ranges are fine.
  for (const overlay of ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"]) {
    const raw = edit((r) => {
      r.overlay = overlay;
      const base = overlay.split(".").slice(0, 2).join(".");
      r.regions = { central: { subnet: `${base}.0.0/24` } };
      r.nodes = { ireland: { role: "hub", region: "central", site: "dub", address: `${base}.0.1`, cloud: "aws", aws: { region: "eu-west-1" } } };
    });
    assert.equal(parseMeshConfig(raw).overlay, overlay);
  }
});

test("endpoints: loopback, unspecified, broadcast, multicast, link-local, reserved and names with spaces are refused", () => {
  const withEndpoint = (endpoint: string) => edit((r) => (r.nodes.nrt = { role: "backend", region: "apac", site: "nrt", address: "10.50.4.1", cloud: "external", external: { endpoint } }));
  const cases: [string, RegExp][] = [
    ["127.0.0.1", /loopback/],
    ["0.0.0.0", /"this network"/],
    ["255.255.255.255", /broadcast/],
    ["224.0.0.5", /multicast/],
    ["169.254.169.254", /link-local/],
    ["240.0.0.1", /reserved/],
    ["my host.example.com", /holds spaces/],
    [" 198.51.100.7", /holds spaces/],
    ["localhost", /not a host name|localhost/],
    ["api.localhost", /names this machine/],
  ];
  for (const [endpoint, why] of cases) refused(withEndpoint(endpoint), "nodes.nrt.external.endpoint", why);
  assert.equal(parseMeshConfig(withEndpoint("vpn.example.com")).nodes.find((n) => n.name === "nrt")?.external?.endpoint, "vpn.example.com");
});

test("no string field holds a line break, tab or other control character (the issue's two examples), and every one has a length cap", () => {
  refused(edit((r) => (r.nodes.hkg = { ...r.nodes.hkg, address: "10.50.5.1\t" })), "nodes.hkg.address", /^"10\.50\.5\.1\\t" holds a tab; write one plain line, such as "10\.50\.5\.1"$/);
  refused(
    edit((r) => (r.nodes.ireland = { ...r.nodes.ireland, aws: { region: "eu-west-1", instanceType: "t3.micro\nPostUp = curl evil | sh" } })),
    "nodes.ireland.aws.instanceType",
    /^"t3\.micro\\nPostUp = curl evil \| sh" holds a line break; write one plain line/,
  );
  // Every string field, one by one.
  const fields: [string, (r: Raw, v: string) => void][] = [
    ["overlay", (r, v) => (r.overlay = v)],
    ["hub", (r, v) => (r.hub = v)],
    ["adminCidrs[0]", (r, v) => (r.adminCidrs = [v])],
    ["peerStacks[0]", (r, v) => (r.peerStacks = [v])],
    ["regions.apac.subnet", (r, v) => (r.regions.apac = { subnet: v })],
    ["regions.apac.area", (r, v) => (r.regions.apac = { subnet: "10.50.4.0/24", area: v })],
    ["nodes.nrt.region", (r, v) => (r.nodes.nrt = { ...r.nodes.nrt, region: v })],
    ["nodes.nrt.site", (r, v) => (r.nodes.nrt = { ...r.nodes.nrt, site: v })],
    ["nodes.nrt.links[0]", (r, v) => (r.nodes.nrt = { ...r.nodes.nrt, links: [v] })],
    ["nodes.nrt.links[0].peer", (r, v) => (r.nodes.nrt = { ...r.nodes.nrt, links: [{ peer: v }] })],
    ["nodes.ireland.aws.region", (r, v) => (r.nodes.ireland = { ...r.nodes.ireland, aws: { region: v } })],
    ["nodes.ireland.aws.ami", (r, v) => (r.nodes.ireland = { ...r.nodes.ireland, aws: { region: "eu-west-1", ami: v } })],
    ["nodes.ireland.aws.vpcId", (r, v) => (r.nodes.ireland = { ...r.nodes.ireland, aws: { region: "eu-west-1", vpcId: v } })],
    ["nodes.ireland.aws.subnetId", (r, v) => (r.nodes.ireland = { ...r.nodes.ireland, aws: { region: "eu-west-1", subnetId: v } })],
    ["nodes.hkg.gcp.zone", (r, v) => (r.nodes.hkg = { ...r.nodes.hkg, gcp: { project: "edgeproxy-prod", zone: v } })],
    ["nodes.hkg.gcp.project", (r, v) => (r.nodes.hkg = { ...r.nodes.hkg, gcp: { project: v, zone: "asia-east2-a" } })],
    ["nodes.hkg.gcp.machineType", (r, v) => (r.nodes.hkg = { ...r.nodes.hkg, gcp: { project: "edgeproxy-prod", zone: "asia-east2-a", machineType: v } })],
    ["nodes.hkg.gcp.image", (r, v) => (r.nodes.hkg = { ...r.nodes.hkg, gcp: { project: "edgeproxy-prod", zone: "asia-east2-a", image: v } })],
    ["nodes.hkg.gcp.network", (r, v) => (r.nodes.hkg = { ...r.nodes.hkg, gcp: { project: "edgeproxy-prod", zone: "asia-east2-a", network: v } })],
    ["nodes.hkg.gcp.subnetwork", (r, v) => (r.nodes.hkg = { ...r.nodes.hkg, gcp: { project: "edgeproxy-prod", zone: "asia-east2-a", subnetwork: v } })],
    ["nodes.nrt.azure.location", (r, v) => (r.nodes.nrt = { ...r.nodes.nrt, azure: { location: v } })],
    ["nodes.nrt.azure.vmSize", (r, v) => (r.nodes.nrt = { ...r.nodes.nrt, azure: { location: "japaneast", vmSize: v } })],
    ["nodes.nrt.azure.image", (r, v) => (r.nodes.nrt = { ...r.nodes.nrt, azure: { location: "japaneast", image: v } })],
    ["nodes.nrt.azure.subnetId", (r, v) => (r.nodes.nrt = { ...r.nodes.nrt, azure: { location: "japaneast", subnetId: v } })],
    ["defaults.aws.instanceType", (r, v) => (r.defaults = { aws: { instanceType: v } })],
    ["defaults.gcp.project", (r, v) => (r.defaults = { gcp: { project: v } })],
    ["defaults.azure.vmSize", (r, v) => (r.defaults = { azure: { vmSize: v } })],
  ];
  for (const [path, set] of fields) {
    for (const bad of ["x\ny", "x\ty", "x\u0000y", "x\u001b[2Jy", "x\u202Ey", "x\u2028y", "x\ry"]) {
      const issues = issuesOf(edit((r) => set(r, bad)));
      assertClean(issues);
      assert.ok(issues.some((i) => i.path === path && /holds (a line break|a tab|a control character)/.test(i.message)), `${path} = ${JSON.stringify(bad)}: ${issues.map((i) => `${i.path}: ${i.message}`).join(" | ")}`);
    }
    const issues = issuesOf(edit((r) => set(r, "a".repeat(5000))));
    assertClean(issues);
    const long = issues.find((i) => i.path === path);
    assert.ok(long && /is 5000 characters long; at most \d+/.test(long.message), `${path}: ${issues.map((i) => `${i.path}: ${i.message}`).join(" | ")}`);
  }
  const external = edit((r) => (r.nodes.nrt = { role: "backend", region: "apac", site: "nrt", address: "10.50.4.1", cloud: "external", external: { endpoint: "vpn.example.com\nPostUp = x" } }));
  refused(external, "nodes.nrt.external.endpoint", /holds a line break/);
});

test("a name that is not a plain name is quoted and escaped in the path, and reported once", () => {
  const issues = issuesOf(edit((r) => (r.nodes["evil\nPostUp = sh"] = { ...r.nodes.nrt, address: "10.50.4.9", aws: 5 })));
  assertClean(issues);
  assert.deepEqual(issues.map((i) => i.path), ['nodes["evil\\nPostUp = sh"]']);
  const keyIssues = issuesOf(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, "col\u001bour": "red" })));
  assertClean(keyIssues);
  assert.deepEqual(keyIssues.map((i) => i.path), ['nodes.nrt["col\\u{001B}our"]']);
});

test("numbers a later stage enforces are enforced here: a link weight of 1e-9 is refused with its path", () => {
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, links: [{ peer: "hkg", weight: 1e-9 }] })), "nodes.nrt.links[0].weight", /must be at least 0\.001/);
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, links: [{ peer: "hkg", weight: Infinity }] })), "nodes.nrt.links[0].weight", /must be/);
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, links: [{ peer: "hkg", weight: Number.NaN }] })), "nodes.nrt.links[0].weight", /must be/);
  // The smallest accepted weight plans.
  const spec = parseMeshConfig(edit((r) => (r.nodes.hkg = { ...r.nodes.hkg, links: [{ peer: "ireland", weight: 0.001 }] })));
  assert.ok(planMesh(spec).links.some((l) => l.weight === 0.001));
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, azure: { location: "japaneast", image: "Canonical::server:latest" } })), "nodes.nrt.azure.image", /is not an image URN/);
});

test("messages are the project's own words: null or a wrong shape anywhere never shows zod's text", () => {
  const shapes: [string, (r: Raw) => void][] = [
    ["nodes.ireland.aws", (r) => (r.nodes.ireland = { ...r.nodes.ireland, aws: null })],
    ["nodes.ireland.aws", (r) => (r.nodes.ireland = { ...r.nodes.ireland, aws: ["eu-west-1"] })],
    ["nodes.nrt", (r) => ((r.nodes as Record<string, unknown>).nrt = null)],
    ["regions.apac", (r) => ((r.regions as Record<string, unknown>).apac = null)],
    ["defaults", (r) => (r.defaults = null)],
    ["defaults.gcp", (r) => (r.defaults = { gcp: "x" })],
    ["nodes.nrt.links[0]", (r) => (r.nodes.nrt = { ...r.nodes.nrt, links: [null] })],
    ["nodes.nrt.links", (r) => (r.nodes.nrt = { ...r.nodes.nrt, links: "hkg" })],
    ["adminCidrs[0]", (r) => (r.adminCidrs = [7])],
    ["nodes.nrt.external", (r) => (r.nodes.nrt = { role: "backend", region: "apac", site: "nrt", address: "10.50.4.1", cloud: "external", external: null })],
  ];
  for (const [path, fn] of shapes) {
    const issues = issuesOf(edit(fn));
    assertClean(issues);
    const hit = issues.find((i) => i.path === path);
    assert.ok(hit, `${path}: ${issues.map((i) => `${i.path}: ${i.message}`).join(" | ")}`);
    assert.match(hit.message, /^(must be|is required)/, hit.message);
  }
  refused(edit((r) => (r.nodes.ireland = { ...r.nodes.ireland, aws: null })), "nodes.ireland.aws", /^must be a map of AWS placement, such as \{ region: eu-west-1 \}, not null$/);
});

const STACK = (mesh: string) => `config:\n  wg-mesh:mesh:\n${mesh}`;

function yamlIssues(text: string): ConfigIssue[] {
  try {
    loadStackConfig(text, "Pulumi.x.yaml");
  } catch (err) {
    if (err instanceof MeshConfigError) return err.issues;
    throw err;
  }
  return assert.fail("expected the file to be refused");
}

test("YAML: a self-referencing alias, deep nesting and alias chains get one line naming the file and line, and what to do", () => {
  const self = yamlIssues(STACK("    overlay: 10.50.0.0/16\n    adminCidrs: &me [*me]\n"));
  assert.deepEqual(self, [{ path: "Pulumi.x.yaml:4:22", message: "alias *me sits inside the value it refers to (&me), so that value would contain itself forever; write the values out instead" }]);
  for (const depth of [40, 5000, 20_000]) {
    const deep = yamlIssues(STACK(`    overlay: ${"[".repeat(depth)}${"]".repeat(depth)}\n`));
    assert.equal(deep.length, 1, JSON.stringify(deep));
    assert.match(deep[0]?.path ?? "", /^Pulumi\.x\.yaml:\d+:\d+$/);
    assert.match(deep[0]?.message ?? "", /nesting is deeper than 32 levels; a stack config is a few levels deep: flatten it/);
  }
  const chain = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (const [i, name] of ["b", "c", "d", "e", "f", "g"].entries()) {
    const prev = "abcdefg"[i] as string;
    chain.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(", ")}]`);
  }
  const lines = yamlIssues(`${chain.join("\n")}\nconfig: {}\n`);
  assert.equal(lines.length, 1);
  assert.match(lines[0]?.path ?? "", /^Pulumi\.x\.yaml:[67]:\d+$/);
  assert.match(lines[0]?.message ?? "", /aliases expand this file to more than 200000 values \(here \*[ef]\); write the values out, or use fewer nested aliases/);
  assert.deepEqual(yamlIssues("a: *nope\n"), [{ path: "Pulumi.x.yaml:1:4", message: "alias *nope names no anchor &nope above it; define the anchor first or write the value out" }]);
  // Anchors used the ordinary way still work.
  const spec = loadStackConfig(
    STACK(
      "    overlay: 10.50.0.0/16\n    topology: hub\n    hub: a\n    regions: { r: { subnet: 10.50.0.0/24 } }\n    nodes:\n      a: &node { role: hub, region: r, site: dub, address: 10.50.0.1, cloud: aws, aws: &aws { region: eu-west-1 } }\n      b: { role: backend, region: r, site: dub, address: 10.50.0.2, cloud: aws, aws: *aws }\n",
    ),
    "Pulumi.x.yaml",
  );
  assert.equal(spec.nodes[1]?.aws?.region, "eu-west-1");
});

test("a config the validator accepts renders files where every value stays on its line", () => {
  const spec = parseMeshConfig(base());
  const plan = planMesh(spec);
  for (const text of Object.values(renderAll(plan, throwAwayKeys(plan), offlineEndpoints(plan)))) {
    for (const line of text.split("\n")) assert.ok(!hasUnprintable(line), JSON.stringify(line));
  }
});

test("renderers refuse what the validator refuses, so nothing built around it adds a line either", () => {
  const plan = planMesh(parseMeshConfig(base()));
  const hkg = plan.nodes.find((n) => n.name === "hkg") as (typeof plan.nodes)[number];
  for (const bad of ["10.50.5.1\t", "10.50.5.1\nPostUp = curl evil | sh", "10.50.5.1\u202e"]) {
    hkg.interfaceAddress = `${bad}/24`;
    assert.throws(() => renderAll(plan, throwAwayKeys(plan), offlineEndpoints(plan)), /Address value .* holds a line break or control character; a wg-quick value is one plain line/);
  }
  assert.throws(() => renderCloudInit({ node: "hkg", vault: { kind: "file", path: "/tmp/x\rPostUp", agentPath: "/tmp/a" } }), /vault\.path .* is invalid/);
});
