/**
 * The staging stack (Pulumi.staging.yaml) on real WireGuard, through the changes it will live
 * through: a backend added while traffic flows, applied to every running node by the node's own
 * wgmesh-sync as the sync unit does it, and the hub failing and coming back. Needs root;
 * skipped loudly without it.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { loadStackConfig } from "../../infra/config";
import type { MeshPlan, WgQuickConfig } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { simulate } from "../../infra/simulate";
import { compareWithPlan, configsFromPlan, keepKeys } from "../../lab/from-plan";
import { Lab, type LabOptions } from "../../lab/lab";
import type { PingMatrix } from "../../lab/ping";
import { labBlocker } from "../../lab/preflight";
import { leftoversOfLab } from "../../lab/teardown";
import { continuousPing, lostPackets, type PingFlow } from "../support/ping-flow";

const REPO = resolve(__dirname, "..", "..");
const STAGING = join(REPO, "Pulumi.staging.yaml");
const blocker = labBlocker();
if (blocker) process.stderr.write(`\n*** SKIPPING the staging-mesh lab tests: ${blocker} ***\n\n`);

function labTest(name: string, fn: (t: TestContext) => Promise<void>): void {
  test(name, { skip: blocker ? `lab cannot run here: ${blocker}` : false, timeout: 180_000 }, fn);
}

/** The staging stack as written, or with nodes added to its `nodes` map, planned. */
function stagingPlan(extraNodes: Record<string, unknown> = {}): MeshPlan {
  const doc = parseDocument(readFileSync(STAGING, "utf8"));
  for (const [name, node] of Object.entries(extraNodes)) doc.setIn(["config", "wg-mesh:mesh", "nodes", name], node);
  return planMesh(loadStackConfig(doc.toString(), "Pulumi.staging.yaml"));
}

function unreachable(m: PingMatrix): string[] {
  return m.pairs.filter((p) => !p.reachable).map((p) => `${p.from}>${p.to}`);
}

function assertAsPlanned(plan: MeshPlan, m: PingMatrix): void {
  assert.equal(m.total, plan.nodes.length * (plan.nodes.length - 1));
  assert.deepEqual(unreachable(m), [], "every ordered pair answers");
  assert.deepEqual(compareWithPlan(plan, m), [], "hops as planned");
}

async function withLab(configs: Record<string, WgQuickConfig>, sites: LabOptions["sites"], body: (lab: Lab) => Promise<void>): Promise<void> {
  const lab = await Lab.up(configs, sites ? { sites } : {});
  try {
    await body(lab);
  } finally {
    lab.down();
  }
  assert.deepEqual(leftoversOfLab(lab.id), [], `lab ${lab.id} left things behind`);
}

labTest("staging: a backend joins while traffic flows; every node applies the change in place with no packet lost", async (t) => {
  const before = stagingPlan();
  const first = configsFromPlan(before);
  await withLab(first.configs, first.sites, async (lab) => {
    assertAsPlanned(before, await lab.pingMatrix());
    const node = (name: string) => lab.nodeInfo().find((n) => n.name === name) as ReturnType<Lab["nodeInfo"]>[number];
    // nrt -> fra crosses the hub, nrt -> sin crosses the POP: the two nodes the new backend changes.
    const flows = [
      { pair: "nrt>fra", ping: continuousPing(node("nrt").namespace, node("fra").overlay as string) },
      { pair: "nrt>sin", ping: continuousPing(node("nrt").namespace, node("sin").overlay as string) },
    ];
    const outcomes: Record<string, string> = {};
    let after: MeshPlan;
    let replies: Record<string, PingFlow> = {};
    try {
      await new Promise((r) => setTimeout(r, 500));
      after = stagingPlan({ syd: { role: "backend", region: "apac", site: "syd", address: "100.64.4.3", cloud: "azure", azure: { location: "australiaeast" } } });
      const second = configsFromPlan(after, keepKeys(after, first.keys));
      for (const n of before.nodes) assert.equal(second.configs[n.name]?.iface.privateKey, first.configs[n.name]?.iface.privateKey, `${n.name} keeps its key`);
      await lab.addNode("syd", second.configs.syd as WgQuickConfig, "syd");
      for (const n of before.nodes) outcomes[n.name] = await lab.apply(n.name, second.configs[n.name] as WgQuickConfig);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      replies = Object.fromEntries(await Promise.all(flows.map(async (f) => [f.pair, await f.ping.stop()] as const)));
    }
    t.diagnostic(`wgmesh-sync on each node: ${Object.entries(outcomes).map(([n, o]) => `${n}: ${o}`).join("; ")}`);
    t.diagnostic(`continuous pings across the change: ${Object.entries(replies).map(([p, s]) => `${p} ${s.replies.length} replies, ${lostPackets(s).length} lost`).join("; ")}`);
    for (const [n, o] of Object.entries(outcomes)) assert.doesNotMatch(o, /restart/i, `${n} was restarted: ${o}`);
    for (const n of ["dub", "hkg"]) assert.match(outcomes[n] as string, /applied the new config to \S+ in place/, `${n} got the new peer`);
    for (const [pair, flow] of Object.entries(replies)) {
      assert.ok(flow.replies.length >= 100, `${pair} ran across the change (${flow.replies.length} replies)`);
      assert.deepEqual(lostPackets(flow), [], `${pair} lost packets while the mesh changed`);
    }
    assertAsPlanned(after, await lab.pingMatrix());
  });
});

labTest("staging: with the hub down exactly the pairs the simulator predicts still work; once it is back every pair recovers", async (t) => {
  const plan = stagingPlan();
  const input = configsFromPlan(plan);
  const hub = plan.spec.hub;
  await withLab(input.configs, input.sites, async (lab) => {
    assertAsPlanned(plan, await lab.pingMatrix());

    await lab.stopNode(hub);
    const down = await lab.pingMatrix({ retries: 1 });
    const survivors = down.pairs.filter((p) => p.reachable).map((p) => `${p.from}>${p.to}`).sort();
    const withoutHub = simulate(Object.fromEntries(Object.entries(input.configs).filter(([n]) => n !== hub)));
    const predicted = withoutHub.pairs.filter((p) => p.reachable).map((p) => `${p.from}>${p.to}`).sort();
    t.diagnostic(`hub ${hub} down: ${survivors.length} of ${down.total} ordered pairs still reachable: ${survivors.join(", ") || "none"}`);
    assert.deepEqual(survivors, predicted, "the lab and the simulator agree on what survives the hub");
    assert.ok(survivors.length > 0, "the POP keeps its area connected without the hub");

    await lab.startNode(hub);
    const started = Date.now();
    const up = await lab.pingMatrix({ retries: 30, retryDelayMs: 500 });
    t.diagnostic(`hub ${hub} back: ${up.reachable} of ${up.total} ordered pairs reachable after ${((Date.now() - started) / 1000).toFixed(1)}s`);
    assertAsPlanned(plan, up);
  });
});
