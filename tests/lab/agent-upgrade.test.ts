/**
 * The node agent on the staging mesh (Pulumi.staging.yaml) on real WireGuard, each node's
 * wgmesh-sync run by a timer as on a VM (lab.runTimers), with a steady ping between every ordered
 * pair of nodes the whole time. Only what the vaults serve changes:
 *
 * 1. agent A (this tree's) -> B: every node runs B within two timer periods, and no ping is lost;
 * 2. a B that fails its self-check: every node rolls it back and keeps running A's successor, and
 *    every node's doctor reports it; no ping is lost;
 * 3. a new MTU for every node: set on each running interface, no ping lost.
 *
 * The timer period is 4 s here instead of a node's 60 s, so the test takes about a minute: the
 * claims are in timer periods, and a run takes well under one even on a busy machine. Needs root;
 * skipped loudly without it.
 */
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { loadStackConfig } from "../../infra/config";
import type { MeshPlan, WgQuickConfig } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { AGENT_VERSION, agentFiles, renderAgentBundle } from "../../infra/render/agent";
import { doctorLabNode } from "../../lab/doctor";
import { run } from "../../lab/exec";
import { configsFromPlan, keepKeys } from "../../lab/from-plan";
import { Lab, type TimedRun } from "../../lab/lab";
import { labBlocker } from "../../lab/preflight";
import { readState } from "../../lab/state";
import { leftoversOfLab } from "../../lab/teardown";
import { continuousPing, lostPackets, type PingFlow } from "../support/ping-flow";

const REPO = resolve(__dirname, "..", "..");
const PERIOD_MS = 4000;
const B = "0.99.0";
const BROKEN = "0.99.1";
const blocker = labBlocker();
if (blocker) process.stderr.write(`\n*** SKIPPING the node agent upgrade lab tests: ${blocker} ***\n\n`);

function labTest(name: string, fn: (t: TestContext) => Promise<void>): void {
  test(name, { skip: blocker ? `lab cannot run here: ${blocker}` : false, timeout: 180_000 }, fn);
}

function stagingPlan(mtu?: number): MeshPlan {
  const doc = parseDocument(readFileSync(join(REPO, "Pulumi.staging.yaml"), "utf8"));
  if (mtu !== undefined) doc.setIn(["config", "wg-mesh:mesh", "mtu"], mtu);
  return planMesh(loadStackConfig(doc.toString(), "Pulumi.staging.yaml"));
}

const plan = stagingPlan();
const first = configsFromPlan(plan);
let lab: Lab | undefined;

before(async () => {
  if (blocker) return;
  lab = await Lab.up(first.configs, { sites: first.sites });
});

after(() => {
  if (!lab) return;
  const id = lab.id;
  lab.down();
  assert.deepEqual(leftoversOfLab(id), [], `lab ${id} left things behind`);
});

/** A steady ping between every ordered pair while `body` runs; the flows as they ended. */
async function withPings(body: () => Promise<void>): Promise<Record<string, PingFlow>> {
  const nodes = (lab as Lab).nodeInfo();
  const flows = nodes.flatMap((a) => nodes.filter((b) => b !== a).map((b) => ({ pair: `${a.name}>${b.name}`, ping: continuousPing(a.namespace, b.overlay as string, 0.05) })));
  const stopAll = async (): Promise<Record<string, PingFlow>> => Object.fromEntries(await Promise.all(flows.map(async (f) => [f.pair, await f.ping.stop()] as const)));
  try {
    await new Promise((r) => setTimeout(r, 1000));
    await body();
    await new Promise((r) => setTimeout(r, 1000));
  } catch (err) {
    await stopAll();
    throw err;
  }
  return stopAll();
}

function assertNoLoss(flows: Record<string, PingFlow>, what: string): void {
  assert.equal(Object.keys(flows).length, plan.nodes.length * (plan.nodes.length - 1), "a flow per ordered pair");
  for (const [pair, flow] of Object.entries(flows)) {
    assert.ok(flow.replies.length >= 40, `${what}: ${pair} ran across it (${flow.replies.length} replies)`);
    assert.deepEqual(lostPackets(flow), [], `${what}: ${pair} lost packets`);
  }
}

/** Every node's timer running while `body` runs; the runs. */
async function withTimers(body: () => Promise<void>): Promise<TimedRun[]> {
  const timers = (lab as Lab).runTimers(PERIOD_MS);
  try {
    await body();
  } catch (err) {
    await timers.stop();
    throw err;
  }
  return timers.stop();
}

async function until(what: string, done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`${what} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const nodeNames = plan.nodes.map((n) => n.name);

labTest(`agent ${AGENT_VERSION} -> ${B} by the vaults alone: every node runs it within two timer periods; no ping between any pair lost`, async (t) => {
  const l = lab as Lab;
  for (const n of nodeNames) assert.equal(l.agentOf(n), AGENT_VERSION, `${n} starts on this tree's agent`);
  let published = 0;
  const runs: TimedRun[] = [];
  const flows = await withPings(async () => {
    runs.push(
      ...(await withTimers(async () => {
        await new Promise((r) => setTimeout(r, PERIOD_MS));
        published = Date.now();
        l.setAgent(renderAgentBundle(B, agentFiles(B)));
        await until(`every node on ${B}`, () => nodeNames.every((n) => l.agentOf(n) === B), 2 * PERIOD_MS + 2000);
      })),
    );
  });
  const took: string[] = [];
  for (const n of nodeNames) {
    const switched = runs.find((r) => r.node === n && r.log.some((line) => line === `agent ${AGENT_VERSION} -> ${B}: installed, passed its self-check, current`));
    if (switched) took.push(`${n} ${switched.endedAt - published} ms (its run ${switched.endedAt - switched.startedAt} ms)`);
    assert.ok(switched, `${n}: a run says it moved to ${B}`);
    assert.ok(switched.endedAt - published <= 2 * PERIOD_MS, `${n} ran ${B} ${switched.endedAt - published} ms after the vault named it`);
    assert.equal(switched.code, 0, switched.log.join("\n"));
    assert.doesNotMatch(switched.log.join("\n"), /restart/i, `${n}: no interface restart`);
  }
  assert.ok(runs.every((r) => r.code === 0), runs.filter((r) => r.code !== 0).map((r) => `${r.node}: ${r.log.join(" | ")}`).join("\n"));
  assertNoLoss(flows, "the agent update");
  t.diagnostic(`on ${B} after the vaults named it (timer period ${PERIOD_MS} ms): ${took.join(", ")}; ${Object.values(flows).reduce((n, f) => n + f.replies.length, 0)} ping replies over ${Object.keys(flows).length} pairs, none lost`);
});

labTest(`an agent failing its self-check (${BROKEN}) is rolled back on every node, which keeps running ${B}; every node's doctor reports it; no ping lost`, async () => {
  const l = lab as Lab;
  const broken = renderAgentBundle(
    BROKEN,
    agentFiles(BROKEN).map((f) => (f.name === "wgmesh-sync" ? { ...f, content: f.content.replace("self_check() {\n", 'self_check() {\n  fail "self-check: broken on purpose"\n') } : f)),
  );
  const runs: TimedRun[] = [];
  const flows = await withPings(async () => {
    runs.push(
      ...(await withTimers(async () => {
        l.setAgent(broken);
        const published = Date.now();
        await until("every node rolled it back", () => nodeNames.every((n) => rolledBack(n, published)), 2 * PERIOD_MS + 2000);
      })),
    );
  });
  for (const n of nodeNames) {
    assert.equal(l.agentOf(n), B, `${n} still runs ${B}`);
    assert.ok(runs.some((r) => r.node === n && r.log.includes(`agent ${BROKEN} failed its self-check (self-check: broken on purpose) and was rolled back to ${B}`)), `${n} rolled it back`);
  }
  assertNoLoss(flows, "the rollback");
  const state = readState(l.id);
  assert.ok(state);
  for (const n of nodeNames) {
    const d = await doctorLabNode(state, n);
    assert.equal(d.code, 1, d.lines.join("\n"));
    assert.ok(
      d.lines.some((line) => line.endsWith(`: agent: agent ${BROKEN} failed its self-check (self-check: broken on purpose) and was rolled back; running ${B}; fix: release a fixed agent under a new version (pulumi up writes it to every node's vault; wgmesh diff lists the change)`)),
      `${n}: ${d.lines.join("\n")}`,
    );
  }
});

/** Whether the node's state says, from a run after `since`, that the broken agent was rolled back. */
function rolledBack(node: string, since: number): boolean {
  const l = lab as Lab;
  const state = readState(l.id);
  const iface = state?.nodes.find((n) => n.name === node)?.iface;
  if (!state || !iface) return false;
  try {
    const text = readFileSync(join(state.workDir, "sync", iface, "etc", `${iface}.state`), "utf8");
    const at = Number(/^run_at=(\d+)$/m.exec(text)?.[1] ?? 0) * 1000;
    return at >= since - 1000 && new RegExp(`^agent_problem=agent ${BROKEN.replace(/\./g, "\\.")} failed its self-check`, "m").test(text);
  } catch {
    return false;
  }
}

labTest("a new MTU for every node, applied by the timers from the vaults: set on each running interface, no ping lost", async () => {
  const l = lab as Lab;
  const next = stagingPlan(1300);
  const configs = configsFromPlan(next, keepKeys(next, first.keys)).configs;
  const runs: TimedRun[] = [];
  const mtus = async (): Promise<number[]> =>
    Promise.all(l.nodeInfo().map(async (n) => Number(/ mtu (\d+) /.exec((await run("ip", ["-n", n.namespace, "-o", "link", "show", "dev", n.iface])).stdout)?.[1])));
  assert.ok((await mtus()).every((m) => m !== 1300));
  const flows = await withPings(async () => {
    runs.push(
      ...(await withTimers(async () => {
        for (const n of nodeNames) await l.publish(n, configs[n] as WgQuickConfig);
        await new Promise((r) => setTimeout(r, 2 * PERIOD_MS + 1000));
      })),
    );
  });
  assert.deepEqual(await mtus(), nodeNames.map(() => 1300));
  for (const n of nodeNames) {
    const applied = runs.filter((r) => r.node === n && r.log.some((line) => /^set MTU 1300 on \S+ in place \(was \d+\)$/.test(line)));
    assert.equal(applied.length, 1, `${n}: ${runs.filter((r) => r.node === n).map((r) => r.log.join(" | ")).join("\n")}`);
    assert.doesNotMatch(applied[0]?.log.join("\n") ?? "", /restart/i);
  }
  assertNoLoss(flows, "the MTU change");
});
