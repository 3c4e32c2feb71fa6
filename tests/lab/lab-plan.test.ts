/**
 * The planner's own output on real WireGuard: meshes planned and rendered exactly as
 * `wgmesh lab --stack` does, brought up in namespaces, every ordered pair pinged. The
 * measured hop count of each pair must be the planned path's, which proves the rendered
 * AllowedIPs, Endpoints and forwarding work on wireguard-go, not only in the simulator.
 * Needs root; skipped loudly without it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { planMesh } from "../../infra/plan";
import { compareWithPlan, configsFromPlan } from "../../lab/from-plan";
import { Lab, type LabOptions } from "../../lab/lab";
import { parseLatencyJson } from "../../lab/latency";
import { labBlocker } from "../../lab/preflight";
import { leftoversOfLab } from "../../lab/teardown";
import { randomMeshSpec } from "../support/random-mesh";
import { seedSpec } from "../support/seed-spec";
import type { MeshSpec } from "../../infra/model";

const blocker = labBlocker();
if (blocker) process.stderr.write(`\n*** SKIPPING the planned-mesh lab tests: ${blocker} ***\n\n`);
const RTT_FILE = join(__dirname, "..", "data", "latency", "rtt-azure-2025.json");

async function provePlan(spec: MeshSpec, opts: LabOptions = {}): Promise<void> {
  const plan = planMesh(spec);
  const input = configsFromPlan(plan);
  const lab = await Lab.up(input.configs, { ...opts, ...(input.sites ? { sites: input.sites } : {}) });
  try {
    const m = await lab.pingMatrix();
    assert.equal(m.total, plan.nodes.length * (plan.nodes.length - 1));
    assert.deepEqual(compareWithPlan(plan, m), [], "measured hops differ from the plan");
    assert.equal(m.reachable, m.total);
  } finally {
    lab.down();
  }
  assert.deepEqual(leftoversOfLab(lab.id), []);
}

test("the seed mesh (12 nodes) on real WireGuard: every pair reachable, hops as planned", { skip: blocker ?? false, timeout: 180_000 }, async () => {
  await provePlan(seedSpec());
});

test("the seed mesh with measured WAN round trips (scale 0.05): hops as planned through the relay", { skip: blocker ?? false, timeout: 180_000 }, async () => {
  const latency = parseLatencyJson(readFileSync(RTT_FILE, "utf8"), RTT_FILE);
  await provePlan(seedSpec(), { latency, scale: 0.05 });
});

for (const seed of [3, 17, 42]) {
  test(`random mesh #${seed} (NAT nodes included) on real WireGuard: hops as planned`, { skip: blocker ?? false, timeout: 180_000 }, async () => {
    await provePlan(randomMeshSpec(seed, { minNodes: 4, maxNodes: 10, natChance: 0.3 }));
  });
}
