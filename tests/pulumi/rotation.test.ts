/**
 * Key rotation at one instant, as the stack program sets it up: one rotation clock per Mesh (a
 * @pulumi/command local.Command whose only trigger and only changing input is keyEpoch), so the
 * "not before" every config carries is fixed by the deploy that changes keyEpoch and left alone by
 * every other deploy (which would otherwise rewrite every vault secret). And the upgrade of a stack
 * whose instant lived in a @pulumiverse/time Static: with the documented one-time config its instant
 * and every config stay exactly as they were, in a preview too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Mesh } from "../../components";
import { loadStackConfig } from "../../infra/config";
import { MeshConfigError, type MeshSpec } from "../../infra/model";
import { DEFAULT_ROTATION_MARGIN, KEPT_ROTATION_KEY, notBeforeOf, ROTATION_CLOCK_SCRIPT, rotationOf } from "../../infra/rotation";
import { stateKey } from "../../stacks/synth/mock-cloud";
import { runUnderMocks, type MockRun } from "../../stacks/synth/run";
import { seedSpec } from "../support/seed-spec";
import { containsUnknown, deliveredConfigs, input, MESH, meshArgs, ofType, parentOf, PROJECT, REPO, runMesh } from "../support/pulumi";

const CLOCK = "command:local:Command";

type Run = Awaited<ReturnType<typeof runMesh>>;

/** The Mesh's rotation clock, and the time it stands for (the not-before, less the margin). */
function rotationTime(run: Run, margin = DEFAULT_ROTATION_MARGIN): { name: string; triggers: unknown; environment: Record<string, string>; at: number } {
  const clocks = ofType(run, CLOCK);
  assert.equal(clocks.length, 1, "one rotation clock per mesh");
  const r = clocks[0] as (typeof clocks)[number];
  const { notBefore } = run.outputs.keyRotation as { notBefore: string };
  return { name: r.name, triggers: input(r, "triggers"), environment: input(r, "environment"), at: Date.parse(notBefore) - margin * 1000 };
}

test("every node's config carries the same not-before: the rotation time plus the margin (default 2 minutes)", async () => {
  const run = await runMesh(seedSpec());
  const time = rotationTime(run);
  assert.equal(time.name, `${MESH}-key-rotation`);
  const clock = ofType(run, CLOCK)[0] as Run["resources"][number];
  assert.equal(input(clock, "create"), ROTATION_CLOCK_SCRIPT);
  assert.equal(input(clock, "update"), ROTATION_CLOCK_SCRIPT, "an update for any other reason keeps the instant");
  const expected = { keyEpoch: 1, notBefore: notBeforeOf(new Date(time.at), DEFAULT_ROTATION_MARGIN) };
  assert.ok(Number.isFinite(time.at) && time.at % 1000 === 0, "a whole-second time");
  assert.equal(DEFAULT_ROTATION_MARGIN, 120);
  const configs = deliveredConfigs(run);
  assert.equal(Object.keys(configs).length, 12);
  for (const [node, text] of Object.entries(configs)) assert.deepEqual(rotationOf(text), expected, node);
  assert.deepEqual(run.outputs.keyRotation, expected);
  const parent = parentOf(run, ofType(run, CLOCK)[0] as never);
  assert.equal(parent?.type, "wg-mesh:index:Mesh");
});

test("the time moves only when keyEpoch does: its only trigger and only changing input is keyEpoch, untouched by an unrelated change", async () => {
  const base = seedSpec();
  const first = rotationTime(await runMesh(base));
  assert.deepEqual(first.triggers, ["1"]);
  assert.deepEqual(first.environment, { WGMESH_KEY_EPOCH: "1" });
  // A new node, a new MTU: the clock's inputs are what they were, so Pulumi does not run it and keeps its time.
  const changed = seedSpec({ mtu: 1300, adminCidrs: ["203.0.113.0/24"] });
  changed.nodes = changed.nodes.filter((n) => n.name !== "syd");
  const second = rotationTime(await runMesh(changed));
  assert.deepEqual([second.triggers, second.environment], [first.triggers, first.environment]);
  assert.equal(second.at, first.at);
  // A new keyEpoch changes the trigger, which runs the clock again (its update): a new time, new configs.
  const bumped = await runMesh(seedSpec({ keyEpoch: 2 }));
  const third = rotationTime(bumped);
  assert.deepEqual(third.triggers, ["2"]);
  assert.notEqual(third.at, first.at);
  for (const [node, text] of Object.entries(deliveredConfigs(bumped))) assert.deepEqual(rotationOf(text), { keyEpoch: 2, notBefore: notBeforeOf(new Date(third.at), 120) }, node);
});

test("rotationMargin sets the margin; out of range it is refused with the path and the range", async () => {
  const plain = rotationTime(await runMesh(seedSpec()));
  const run = await runMesh(seedSpec({ rotationMargin: 600 }));
  assert.equal(rotationTime(run, 600).at, plain.at, "the same rotation time, a later switch");
  assert.deepEqual(run.outputs.keyRotation, { keyEpoch: 1, notBefore: notBeforeOf(new Date(plain.at), 600) });
  const yaml = (margin: string): string =>
    `config:\n  wg-mesh:mesh:\n    overlay: 10.50.0.0/16\n    topology: hub\n    hub: a\n    rotationMargin: ${margin}\n    regions: { r: { subnet: 10.50.0.0/24 } }\n    nodes:\n      a: { role: hub, region: r, site: dub, address: 10.50.0.1, cloud: aws, aws: { region: eu-west-1 } }\n`;
  assert.equal(loadStackConfig(yaml("0"), "Pulumi.t.yaml").rotationMargin, 0);
  for (const bad of ["-1", "3601", "1.5", "soon"]) {
    assert.throws(
      () => loadStackConfig(yaml(bad), "Pulumi.t.yaml"),
      (err: unknown) => err instanceof MeshConfigError && err.issues.length === 1 && err.issues[0]?.path === "rotationMargin" && /(at least 0|at most 3600|a whole number from 0 to 3600) \(seconds from a deploy that bumps keyEpoch/.test(err.issues[0].message),
      bad,
    );
  }
});

const BEFORE = JSON.parse(readFileSync(join(REPO, "tests", "data", "rotation", "time-static-stack.json"), "utf8")) as { keyRotation: { keyEpoch: number; notBefore: string }; configSha256: Record<string, string> };

/** The Mesh on `spec` as the stack program makes it, with stack config beside the declaration. */
function runWith(spec: MeshSpec, config: Record<string, string>, preview?: { existing: ReadonlySet<string> }): Promise<MockRun> {
  return runUnderMocks({
    project: PROJECT,
    stack: "test",
    config,
    program: () => {
      const mesh = new Mesh(MESH, meshArgs(spec));
      return { nodes: mesh.nodes, summary: mesh.summary, mesh: mesh.meshExport, externalConfigs: mesh.externalConfigs, keyRotation: mesh.keyRotation };
    },
    ...(preview ? { preview: true, existing: preview.existing } : {}),
  });
}

const sha = (configs: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(configs).sort().map(([n, t]) => [n, createHash("sha256").update(t).digest("hex")]));

test("upgrading a stack whose instant was a time.Static: with its keyRotation output carried over once, its instant and every delivered config stay byte for byte", async () => {
  const kept = { [KEPT_ROTATION_KEY]: JSON.stringify(BEFORE.keyRotation, null, 2) };
  const run = await runWith(seedSpec(), kept);
  assert.deepEqual(run.outputs.keyRotation, BEFORE.keyRotation);
  assert.deepEqual(sha(deliveredConfigs(run)), BEFORE.configSha256, "no vault secret is rewritten");
  const clock = rotationTime(run);
  assert.deepEqual(clock.environment, { WGMESH_KEY_EPOCH: "1", WGMESH_ROTATION_KEPT: `1 ${new Date(clock.at).toISOString().replace(/\.\d{3}Z$/, "Z")}` }, "the clock prints the kept instant");
  // Without it the new clock starts a new instant: configs keep their keys but are rewritten with a new not-before.
  const fresh = await runWith(seedSpec(), {});
  assert.notDeepEqual(fresh.outputs.keyRotation, BEFORE.keyRotation);
  // After the next bump the old setting is ignored: a new instant.
  const bumped = await runWith(seedSpec({ keyEpoch: 2 }), kept);
  assert.equal((bumped.outputs.keyRotation as { keyEpoch: number }).keyEpoch, 2);
  assert.deepEqual(rotationTime(bumped).environment, { WGMESH_KEY_EPOCH: "2" });
});

test("the upgrade in preview mode (every resource exists but the new clock): with the kept instant nothing else changes; without it every config is unknown", async () => {
  const deployed = await runWith(seedSpec(), { [KEPT_ROTATION_KEY]: JSON.stringify(BEFORE.keyRotation) });
  const existing = new Set(deployed.resources.filter((r) => r.type !== CLOCK).map((r) => stateKey(r.type, r.name)));
  const kept = await runWith(seedSpec(), { [KEPT_ROTATION_KEY]: JSON.stringify(BEFORE.keyRotation) }, { existing });
  assert.deepEqual(kept.outputs.keyRotation, BEFORE.keyRotation, "known in the preview");
  assert.deepEqual(sha(deliveredConfigs(kept)), BEFORE.configSha256, "every vault secret's value is known and unchanged");
  const unkept = await runWith(seedSpec(), {}, { existing });
  // The configs' secrets (each node's agent secret does not depend on the instant).
  const versions = unkept.resources.filter((r) => /secretVersion:SecretVersion|keyvault\/secret:Secret/.test(r.type) && r.name.endsWith("-wg0"));
  assert.ok(versions.length >= 12);
  const unknown = versions.filter((r) => containsUnknown(r.inputs));
  assert.equal(unknown.length, versions.length, "without it, the preview shows every config as changing: the instant would move");
});

test(`${KEPT_ROTATION_KEY} that is not the keyRotation output is refused in one line`, async () => {
  await assert.rejects(runWith(seedSpec(), { [KEPT_ROTATION_KEY]: "2025-07-23T06:03:22Z" }), (err: unknown) => {
    assert.ok(pulumi.RunError.isInstance(err));
    assert.match((err as Error).message, new RegExp(`^${KEPT_ROTATION_KEY}: "2025-07-23T06:03:22Z" is not JSON; set it to this stack's keyRotation output`));
    return true;
  });
});
