/**
 * The rotation instant's clock (infra/rotation.ts ROTATION_CLOCK_SCRIPT), run with /bin/sh as
 * @pulumi/command's local.Command runs it on create and update, with the environment the provider
 * gives it (PULUMI_COMMAND_STDOUT: what it printed last time), and the config that carries an old
 * stack's instant over (keptRotationInstant).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { KEPT_ROTATION_KEY, keptRotationInstant, notBeforeOf, ROTATION_CLOCK_SCRIPT, rotationInstantOf } from "../../infra/rotation";

function clock(env: Record<string, string>): string {
  const r = spawnSync("/bin/sh", ["-c", ROTATION_CLOCK_SCRIPT], { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, "");
  return r.stdout;
}

test("create: now, in UTC whole seconds, for the key epoch", () => {
  const before = Math.floor(Date.now() / 1000) * 1000;
  const out = clock({ WGMESH_KEY_EPOCH: "3" });
  const at = Date.parse(rotationInstantOf(out, 3));
  assert.ok(at >= before && at <= Date.now() + 1000, out);
  assert.throws(() => rotationInstantOf(out, 4), /printed "3 .*", not "4 YYYY-MM-DDTHH:MM:SSZ"/);
});

test("update for the same epoch (a new wg-mesh, a changed environment): the instant printed last time stays", () => {
  assert.equal(clock({ WGMESH_KEY_EPOCH: "3", PULUMI_COMMAND_STDOUT: "3 2025-06-01T12:00:00Z\n" }), "3 2025-06-01T12:00:00Z\n");
});

test("update for a new epoch (keyEpoch bumped, its trigger): a new instant, whatever was printed before", () => {
  const out = clock({ WGMESH_KEY_EPOCH: "4", PULUMI_COMMAND_STDOUT: "3 2025-06-01T12:00:00Z" });
  assert.notEqual(rotationInstantOf(out, 4), "2025-06-01T12:00:00Z");
});

test("an instant carried over for this epoch wins on create and update; one for another epoch is ignored", () => {
  assert.equal(clock({ WGMESH_KEY_EPOCH: "1", WGMESH_ROTATION_KEPT: "1 2025-07-23T06:01:22Z" }), "1 2025-07-23T06:01:22Z\n");
  assert.equal(clock({ WGMESH_KEY_EPOCH: "1", WGMESH_ROTATION_KEPT: "1 2025-07-23T06:01:22Z", PULUMI_COMMAND_STDOUT: "1 2025-07-23T06:01:22Z" }), "1 2025-07-23T06:01:22Z\n");
  const bumped = clock({ WGMESH_KEY_EPOCH: "2", WGMESH_ROTATION_KEPT: "1 2025-07-23T06:01:22Z", PULUMI_COMMAND_STDOUT: "1 2025-07-23T06:01:22Z" });
  assert.notEqual(rotationInstantOf(bumped, 2), "2025-07-23T06:01:22Z");
});

test(`${KEPT_ROTATION_KEY}: the stack's keyRotation output, its instant its notBefore less the margin; one line when it is anything else`, () => {
  const output = JSON.stringify({ keyEpoch: 1, notBefore: "2025-07-23T06:03:22Z" }, null, 2);
  const kept = keptRotationInstant(output, 1, 120);
  assert.equal(kept, "2025-07-23T06:01:22Z");
  assert.equal(notBeforeOf(kept as string, 120), "2025-07-23T06:03:22Z", "the notBefore it gives back is the one the stack had");
  assert.equal(keptRotationInstant(output, 2, 120), undefined, "after a bump the old value is ignored");
  assert.equal(keptRotationInstant(undefined, 1, 120), undefined);
  assert.throws(() => keptRotationInstant("2025-07-23T06:03:22Z", 1, 120), new RegExp(`^Error: ${KEPT_ROTATION_KEY}: "2025-07-23T06:03:22Z" is not JSON; set it to this stack's keyRotation output: pulumi config set`));
  assert.throws(() => keptRotationInstant('{"keyEpoch":1,"notBefore":"soon"}', 1, 120), /expected \{"keyEpoch": N, "notBefore": "YYYY-MM-DDTHH:MM:SSZ"\}/);
});
