/**
 * Pulumi records a stack trace per promise of every resource property (for its leak report); the
 * mesh turns that off while it builds and the stack program for its whole run, unless
 * PULUMI_DEBUG_PROMISE_LEAKS asks for them. Nothing else in the process is changed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Mesh } from "../../components";
import { stackConfig } from "../../workspace/project";
import { freshRequire, runUnderMocks } from "../../stacks/synth/run";
import { meshArgs, PROJECT, REPO } from "../support/pulumi";
import { seedSpec } from "../support/seed-spec";

async function limitsSeen(debugLeaks: boolean): Promise<{ program: number; after: number; before: number }> {
  const before = Error.stackTraceLimit;
  const saved = process.env["PULUMI_DEBUG_PROMISE_LEAKS"];
  if (debugLeaks) process.env["PULUMI_DEBUG_PROMISE_LEAKS"] = "1";
  else delete process.env["PULUMI_DEBUG_PROMISE_LEAKS"];
  let program = -1;
  try {
    const { config, secretKeys } = stackConfig(join(REPO, "Pulumi.prod.yaml"));
    await runUnderMocks({
      project: PROJECT,
      stack: "prod",
      config,
      secretKeys,
      program: () => {
        const exports = freshRequire(join(REPO, "stacks", "index.ts"));
        program = Error.stackTraceLimit;
        return exports;
      },
    });
  } finally {
    if (saved === undefined) delete process.env["PULUMI_DEBUG_PROMISE_LEAKS"];
    else process.env["PULUMI_DEBUG_PROMISE_LEAKS"] = saved;
  }
  return { program, after: Error.stackTraceLimit, before };
}

test("the stack program records no stack frames for its run; the process gets its limit back after", async () => {
  const seen = await limitsSeen(false);
  assert.equal(seen.program, 0);
  assert.ok(seen.before > 0);
  assert.equal(seen.after, seen.before);
});

test("PULUMI_DEBUG_PROMISE_LEAKS keeps whole traces, for the leak report that needs them", async () => {
  const seen = await limitsSeen(true);
  assert.equal(seen.program, seen.before);
  assert.equal(seen.after, seen.before);
});

test("a Mesh in someone else's program: no frames while its nodes are made, the program's own limit after", async () => {
  const before = Error.stackTraceLimit;
  const during: number[] = [];
  let after = -1;
  await runUnderMocks({
    project: PROJECT,
    stack: "test",
    program: () => {
      pulumi.runtime.registerStackTransformation((args) => {
        if (args.type === "random:index/randomBytes:RandomBytes") during.push(Error.stackTraceLimit);
        return undefined;
      });
      const mesh = new Mesh("mesh", meshArgs(seedSpec()));
      after = Error.stackTraceLimit;
      return { summary: mesh.summary };
    },
  });
  assert.equal(during.length, 12, "one key per node of the seed");
  assert.deepEqual([...new Set(during)], [0]);
  assert.equal(after, before);
});
