/**
 * A stack deployed before the Mesh component upgrades without replacing anything: every URN the old
 * program made (tests/data/urns, from its synth) is either a URN the new program makes, or claimed by
 * exactly one new resource as an alias, computed as the Pulumi engine computes them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { stringify, parse } from "yaml";
import { freshRequire, runUnderMocks, type MockRun } from "../../stacks/synth/run";
import type { SynthJson } from "../../stacks/synth/tree";
import { stackConfig } from "../../workspace/project";
import { PROJECT, REPO, runMesh, runStackFile } from "../support/pulumi";
import { seedSpec } from "../support/seed-spec";

function oldUrns(name: string): string[] {
  return (JSON.parse(readFileSync(join(REPO, "tests", "data", "urns", `${name}.json`), "utf8")) as { urns: string[] }).urns;
}

/** Old URNs the new run would leave behind (deleted on upgrade), or that two new resources claim. */
function upgradeProblems(run: MockRun, old: readonly string[]): string[] {
  const current = new Set(run.resources.map((r) => r.urn));
  const claims = new Map<string, string[]>();
  for (const r of run.resources) for (const a of r.aliases) claims.set(a, [...(claims.get(a) ?? []), r.urn]);
  const problems: string[] = [];
  for (const urn of old) {
    const by = claims.get(urn) ?? [];
    if (current.has(urn)) {
      if (by.length > 0) problems.push(`${urn} is still made and also claimed by ${by.join(", ")}`);
    } else if (by.length === 0) problems.push(`${urn} is neither made nor aliased: an upgrade would delete it`);
    else if (by.length > 1) problems.push(`${urn} is claimed by ${by.length} resources: ${by.join(", ")}`);
  }
  return problems;
}

for (const stack of ["prod", "staging"]) {
  test(`${stack}: every URN of the pre-Mesh program is unchanged or aliased by exactly one resource`, async () => {
    const run = await runStackFile(stack);
    const old = oldUrns(stack);
    assert.ok(old.length > 60, "the old URN list is the real one");
    assert.deepEqual(upgradeProblems(run, old), []);
    // The aliases are the ones the components declare, not a blanket: a node's tree moved under the Mesh.
    const moved = run.resources.filter((r) => r.aliases.length > 0);
    assert.ok(moved.length >= old.length - 1, `${moved.length} resources carry aliases`);
    const hub = run.resources.find((r) => r.type === "wg-mesh:index:Hub");
    assert.ok(hub?.urn.endsWith(`::wg-mesh:index:Mesh$wg-mesh:index:Hub::mesh-${hub.name.slice("mesh-".length)}`), hub?.urn);
  });
}

test("prod with presharedKeys: the preshared keys keep their URNs too", async () => {
  const { config, secretKeys } = stackConfig(join(REPO, "Pulumi.prod.yaml"));
  const mesh = parse(config["wg-mesh:mesh"] as string) as Record<string, unknown>;
  const run = await runUnderMocks({
    project: PROJECT,
    stack: "prod",
    config: { ...config, "wg-mesh:mesh": JSON.stringify({ ...mesh, presharedKeys: true }) },
    secretKeys,
    program: () => freshRequire(join(REPO, "stacks", "index.ts")),
  });
  const old = oldUrns("prod-psk");
  assert.ok(old.some((u) => u.endsWith("::wg-mesh:index:PresharedKeys$random:index/randomBytes:RandomBytes::psk-hkg--ireland")));
  assert.deepEqual(upgradeProblems(run, old), []);
});

test("a node that changes role keeps every resource: its component is aliased across Hub, Pop and Backend", async () => {
  const before = await runMesh(seedSpec());
  const after = await runMesh(seedSpec({ nodes: seedSpec().nodes.map((n) => (n.name === "syd" ? { ...n, role: "pop" as const, region: "apac-pop", address: "10.50.5.2" } : n)) }));
  const sydBefore = before.resources.filter((r) => r.urn.includes("::mesh-syd")).map((r) => r.urn);
  assert.ok(sydBefore.some((u) => u.includes("wg-mesh:index:Backend$random:index/randomBytes:RandomBytes::mesh-syd-key")));
  assert.ok(after.resources.some((r) => r.type === "wg-mesh:index:Pop" && r.name === "mesh-syd"));
  assert.deepEqual(upgradeProblems(after, sydBefore), []);
});

test("the check itself fails when an alias is missing", async () => {
  const run = await runStackFile("staging");
  const stripped = { ...run, resources: run.resources.map((r) => (r.type === "aws:ec2/eip:Eip" ? { ...r, aliases: [] } : r)) };
  const problems = upgradeProblems(stripped, oldUrns("staging"));
  assert.ok(problems.length > 0 && problems.every((p) => /aws:ec2\/eip:Eip::\w+-ip is neither made nor aliased/.test(p)), stringify(problems));
});

test("wgmesh synth --json lists each resource's aliases as URNs", () => {
  const r = spawnSync(process.execPath, [join(REPO, "cli", "bin.js"), "synth", "--stack", "staging", "--json"], { cwd: REPO, encoding: "utf8", timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as SynthJson;
  const eip = s.resources.find((x) => x.type === "aws:ec2/eip:Eip" && x.name === "mesh-dub-ip");
  assert.ok(eip, "the hub's Elastic IP");
  assert.ok(eip.aliases.includes("urn:pulumi:staging::wg-mesh::wg-mesh:index:Hub$wg-mesh:aws:Host$aws:ec2/eip:Eip::dub-ip"), eip.aliases.join("\n"));
});
