/**
 * Key rotation at one instant, as the stack program sets it up: one time.Static per Mesh, triggered
 * by keyEpoch alone, so the "not before" every config carries is fixed by the deploy that changes
 * keyEpoch and left alone by every other deploy (which would otherwise rewrite every vault secret).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadStackConfig } from "../../infra/config";
import { MeshConfigError } from "../../infra/model";
import { DEFAULT_ROTATION_MARGIN, notBeforeOf, rotationOf } from "../../infra/rotation";
import { seedSpec } from "../support/seed-spec";
import { deliveredConfigs, input, MESH, ofType, parentOf, runMesh } from "../support/pulumi";

const STATIC = "time:index/static:Static";

type Run = Awaited<ReturnType<typeof runMesh>>;

/** The Mesh's time.Static, and the time it stands for (the not-before, less the margin). */
function rotationTime(run: Run, margin = DEFAULT_ROTATION_MARGIN): { name: string; triggers: unknown; at: number } {
  const statics = ofType(run, STATIC);
  assert.equal(statics.length, 1, "one rotation time per mesh");
  const r = statics[0] as (typeof statics)[number];
  const { notBefore } = run.outputs.keyRotation as { notBefore: string };
  return { name: r.name, triggers: input(r, "triggers"), at: Date.parse(notBefore) - margin * 1000 };
}

test("every node's config carries the same not-before: the rotation time plus the margin (default 2 minutes)", async () => {
  const run = await runMesh(seedSpec());
  const time = rotationTime(run);
  assert.equal(time.name, `${MESH}-key-rotation`);
  const expected = { keyEpoch: 1, notBefore: notBeforeOf(new Date(time.at), DEFAULT_ROTATION_MARGIN) };
  assert.ok(Number.isFinite(time.at) && time.at % 1000 === 0, "a whole-second time");
  assert.equal(DEFAULT_ROTATION_MARGIN, 120);
  const configs = deliveredConfigs(run);
  assert.equal(Object.keys(configs).length, 12);
  for (const [node, text] of Object.entries(configs)) assert.deepEqual(rotationOf(text), expected, node);
  assert.deepEqual(run.outputs.keyRotation, expected);
  const parent = parentOf(run, ofType(run, STATIC)[0] as never);
  assert.equal(parent?.type, "wg-mesh:index:Mesh");
});

test("the time moves only when keyEpoch does: its only trigger is keyEpoch, untouched by an unrelated change", async () => {
  const base = seedSpec();
  const first = rotationTime(await runMesh(base));
  assert.deepEqual(first.triggers, { keyEpoch: "1" });
  // A new node, a new MTU: the Static's inputs are what they were, so Pulumi keeps it and its time.
  const changed = seedSpec({ mtu: 1300, adminCidrs: ["203.0.113.0/24"] });
  changed.nodes = changed.nodes.filter((n) => n.name !== "syd");
  const second = rotationTime(await runMesh(changed));
  assert.deepEqual(second.triggers, first.triggers);
  assert.equal(second.at, first.at);
  // A new keyEpoch changes the trigger, which replaces the Static: a new time, new configs.
  const bumped = await runMesh(seedSpec({ keyEpoch: 2 }));
  const third = rotationTime(bumped);
  assert.deepEqual(third.triggers, { keyEpoch: "2" });
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
