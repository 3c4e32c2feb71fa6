/**
 * The lab against the latency model, on real WireGuard: `wgmesh lab --stack prod --latency`
 * delays every link by the model's round trip and compares each pair's measured overlay round
 * trip with the planned path's in the model; and the batched ping matrix (one pinger per node)
 * measures the same reachability and hops as a ping per pair. Needs root; skipped loudly without.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { compareWithPlan, configsFromPlan } from "../../lab/from-plan";
import { Lab } from "../../lab/lab";
import { labBlocker } from "../../lab/preflight";
import { leftoversOfLab } from "../../lab/teardown";
import { planMesh } from "../../infra/plan";
import { seedSpec } from "../support/seed-spec";

const blocker = labBlocker();
if (blocker) process.stderr.write(`\n*** SKIPPING the lab latency tests: ${blocker} ***\n\n`);
const REPO = resolve(__dirname, "..", "..");

function wgmesh(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(REPO, "cli", "bin.js"), ...args], { cwd: REPO });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

test("lab --stack prod --latency: every pair's measured round trip beside the model's, the largest difference named", { skip: blocker !== undefined, timeout: 300_000 }, async () => {
  const r = await wgmesh(["lab", "--stack", "prod", "--latency", "--scale", "0.1", "--json"]);
  assert.equal(r.code, 0, r.stderr.split("\n").slice(-5).join("\n"));
  const doc = JSON.parse(r.stdout) as {
    reachable: number;
    model: { scale: number; pairs: { from: string; to: string; measuredMs: number; modelMs: number; differenceMs: number; path: string[] }[]; largest: { from: string; to: string; differenceMs: number } };
  };
  assert.equal(doc.reachable, 132);
  assert.equal(doc.model.scale, 0.1);
  assert.equal(doc.model.pairs.length, 132);
  // The relay delays each link by the model's round trip: nothing can come back sooner than the path's sum.
  for (const p of doc.model.pairs) assert.ok(p.measuredMs >= p.modelMs - 1, `${p.from} -> ${p.to}: measured ${p.measuredMs}, model ${p.modelMs}`);
  const hkgNrt = doc.model.pairs.find((p) => p.from === "hkg" && p.to === "nrt");
  assert.deepEqual(hkgNrt?.path, ["hkg", "nrt"]);
  assert.equal(hkgNrt?.modelMs.toFixed(1), "5.3");
  const largest = Math.max(...doc.model.pairs.map((p) => Math.abs(p.differenceMs)));
  assert.equal(Math.abs(doc.model.largest.differenceMs), largest);
  const text = await wgmesh(["lab", "--stack", "prod", "--latency", "--scale", "0.1"]);
  assert.match(text.stdout, /^Measured against the model \(x0\.1 of its round trips\): 132 pairs, median difference \d+\.\d ms$/m);
  assert.match(text.stdout, /^largest difference: [a-z]+ -> [a-z]+, [+-]\d+\.\d ms \(measured \d+\.\d ms, model \d+\.\d ms\)$/m);
});

test("the batched matrix (a pinger per node) and a ping per pair agree on every pair's reachability and hops", { skip: blocker !== undefined, timeout: 300_000 }, async () => {
  const plan = planMesh(seedSpec({ topology: "auto" }));
  const input = configsFromPlan(plan);
  const lab = await Lab.up(input.configs);
  try {
    const batched = await lab.pingMatrix({ batch: true });
    const single = await lab.pingMatrix({ batch: false, settleMs: 0 });
    assert.equal(batched.reachable, 132);
    assert.deepEqual(compareWithPlan(plan, batched), [], "batched hops are the planned paths'");
    assert.deepEqual(
      batched.pairs.map((p) => `${p.from}>${p.to}:${p.reachable}:${p.hops}`),
      single.pairs.map((p) => `${p.from}>${p.to}:${p.reachable}:${p.hops}`),
    );
  } finally {
    lab.down();
  }
  assert.deepEqual(leftoversOfLab(lab.id), []);
});
