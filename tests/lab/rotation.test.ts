/**
 * Key rotation at one instant, on the staging mesh in the lab with real WAN round trips between its
 * sites (Azure's 2025 medians, 26 to 232 ms). Every node gets its new config (new PrivateKey, its
 * peers' new PublicKeys) with a "not before" time a few seconds ahead; each node's own wgmesh-sync
 * fetches it, holds it and switches at that time. Continuous pings across the switch lose at most
 * 2 s per pair, every ordered pair answers afterwards, and a key of the old epoch can no longer
 * complete a handshake. Needs root; skipped loudly without.
 */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadStackConfig } from "../../infra/config";
import type { WgQuickConfig } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { notBeforeOf, rotationOf } from "../../infra/rotation";
import { stripForWg } from "../../infra/wgquick";
import { run, sleep } from "../../lab/exec";
import { compareWithPlan, configsFromPlan } from "../../lab/from-plan";
import { Lab } from "../../lab/lab";
import { parseLatencyJson } from "../../lab/latency";
import { labBlocker } from "../../lab/preflight";
import { nodeRecord, readState } from "../../lab/state";
import { syncFilesOf } from "../../lab/sync-files";
import { leftoversOfLab } from "../../lab/teardown";
import { continuousPing, lostPackets, type PingFlow } from "../support/ping-flow";

const REPO = resolve(__dirname, "..", "..");
const blocker = labBlocker();
if (blocker) process.stderr.write(`\n*** SKIPPING the key-rotation lab test: ${blocker} ***\n\n`);

/** ping -i 0.01: each lost request is 10 ms without the pair. */
const PING_INTERVAL_S = 0.01;
const MAX_LOSS_S = 2;
/** Pairs across the mesh: direct links, a path through the hub, one through the POP. */
const PAIRS: [string, string][] = [
  ["fra", "dub"],
  ["hkg", "sin"],
  ["nrt", "fra"],
  ["nrt", "sin"],
  ["sin", "hkg"],
  ["dub", "nrt"],
];

function labTest(name: string, fn: (t: TestContext) => Promise<void>): void {
  test(name, { skip: blocker ? `lab cannot run here: ${blocker}` : false, timeout: 300_000 }, fn);
}

function stagingPlan() {
  return planMesh(loadStackConfig(readFileSync(join(REPO, "Pulumi.staging.yaml"), "utf8"), "Pulumi.staging.yaml"));
}

async function wgShow(lab: Lab, node: string, what: string): Promise<Map<string, string>> {
  const n = lab.nodeInfo().find((x) => x.name === node) as ReturnType<Lab["nodeInfo"]>[number];
  const out = (await run("ip", ["netns", "exec", n.namespace, "wg", "show", n.iface, what])).stdout;
  return new Map(out.trim().split("\n").filter(Boolean).map((l) => l.split("\t") as [string, string]));
}

labTest("keyEpoch 1 -> 2: every node switches at the not-before time, each pair loses under 2 s, all pairs answer after", async (t) => {
  const plan = stagingPlan();
  const first = configsFromPlan(plan);
  const second = configsFromPlan(plan);
  for (const n of plan.nodes) assert.notEqual(second.configs[n.name]?.iface.privateKey, first.configs[n.name]?.iface.privateKey, `${n.name} gets a new key`);
  const latency = parseLatencyJson(readFileSync(join(REPO, "infra", "latency", "rtt-azure-2025.json"), "utf8"), "rtt-azure-2025.json");
  const lab = await Lab.up(first.configs, { sites: first.sites as Record<string, string>, latency, scale: 1 });
  try {
    const before = await lab.pingMatrix();
    assert.equal(before.reachable, before.total, "the mesh is whole before the rotation");
    const node = (name: string) => lab.nodeInfo().find((n) => n.name === name) as ReturnType<Lab["nodeInfo"]>[number];

    const flows = PAIRS.map(([a, b]) => ({ pair: `${a}>${b}`, ping: continuousPing(node(a).namespace, node(b).overlay as string) }));
    let results: Record<string, PingFlow> = {};
    let notBefore = "";
    let outcomes: Record<string, string[]> = {};
    try {
      await sleep(1500);
      // Time for every node's wgmesh-sync to fetch and check its config first, even on a busy machine.
      notBefore = notBeforeOf(new Date(), 45);
      outcomes = await lab.rotate(second.configs, { keyEpoch: 2, notBefore });
      await sleep(3000);
    } finally {
      results = Object.fromEntries(await Promise.all(flows.map(async (f) => [f.pair, await f.ping.stop()] as const)));
    }
    const switchAt = Date.parse(notBefore) / 1000;
    t.diagnostic(`not before ${notBefore}; wgmesh-sync: ${Object.entries(outcomes).map(([n, o]) => `${n}: ${o.join(" / ")}`).join("; ")}`);
    const lateness: Record<string, number> = {};
    for (const [n, log] of Object.entries(outcomes)) {
      assert.ok(log.includes(`holding the new config (key epoch 2) until ${notBefore}`), `${n} fetched early and held: ${log.join(" / ")}`);
      const late = /^switched to key epoch 2 (-?\d+) ms after its time$/m.exec(log.join("\n"));
      assert.ok(late, `${n} says when it switched: ${log.join(" / ")}`);
      lateness[n] = Number(late[1]);
      assert.ok((lateness[n] as number) >= 0, `${n} switched before the time`);
      assert.match(log.join("\n"), /applied the new config to \S+ in place/, `${n} switched in place`);
    }
    t.diagnostic(`switched, ms after the time: ${Object.entries(lateness).map(([n, ms]) => `${n} ${ms}`).join(", ")}`);
    const loss = Object.fromEntries(Object.entries(results).map(([pair, flow]) => [pair, lostPackets(flow).length * PING_INTERVAL_S]));
    t.diagnostic(`loss per pair across the rotation: ${Object.entries(loss).map(([p, s]) => `${p} ${s.toFixed(2)} s`).join(", ")}`);

    const state = readState(lab.id);
    assert.ok(state);
    const recordedOf = (name: string): Record<string, string> =>
      Object.fromEntries(
        readFileSync(syncFilesOf(state.workDir, nodeRecord(state, name)?.iface as string).state, "utf8")
          .trim()
          .split("\n")
          .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
      );
    for (const n of plan.nodes) {
      const files = syncFilesOf(state.workDir, nodeRecord(state, n.name)?.iface as string);
      const applied = readFileSync(files.installed, "utf8");
      assert.deepEqual(rotationOf(applied), { keyEpoch: 2, notBefore }, `${n.name} runs the new epoch's config`);
      const recorded = recordedOf(n.name);
      assert.equal(recorded.result, "ok", `${n.name}: ${recorded.log}`);
      // Never before the time; after it by no more than a busy machine takes to wake a sleeper.
      const at = Number(recorded.applied_at);
      assert.ok(at >= switchAt && at <= switchAt + 5, `${n.name} applied at ${at}, the time was ${switchAt}`);
      assert.equal((await wgShow(lab, n.name, "public-key")).size, 1);
    }
    for (const [pair, flow] of Object.entries(results)) {
      assert.ok(flow.transmitted > 1000, `${pair} pinged across the whole rotation (${flow.transmitted} sent)`);
      assert.ok((loss[pair] as number) <= MAX_LOSS_S, `${pair} lost ${(loss[pair] as number).toFixed(2)} s of packets (at most ${MAX_LOSS_S} s)`);
    }
    const after = await lab.pingMatrix();
    assert.equal(after.reachable, after.total, `every ordered pair answers after the rotation: ${after.pairs.filter((p) => !p.reachable).map((p) => `${p.from}>${p.to}`).join(", ")}`);
    assert.deepEqual(compareWithPlan(plan, after), [], "on the planned paths");

    // A node that still holds its old PrivateKey (say one copied before the rotation), with every
    // peer's new PublicKey and real Endpoint: its peers no longer list that key, so no handshake.
    const x = "fra";
    const handshakes = async (): Promise<number[]> => [...(await wgShow(lab, x, "latest-handshakes")).values()].map(Number);
    const oldKey = first.configs[x]?.iface.privateKey as string;
    const changedAt = Math.floor(Date.now() / 1000) + 1;
    await sleep(1000);
    const fraIface = node(x).iface;
    await run("ip", ["netns", "exec", node(x).namespace, "bash", "-c", `wg set ${fraIface} private-key <(printf '%s\\n' '${oldKey}')`]);
    const probe = continuousPing(node(x).namespace, node("dub").overlay as string);
    await sleep(7000);
    const oldKeyFlow = await probe.stop();
    assert.ok((await handshakes()).every((at) => at < changedAt), "a handshake completed with an old key");
    assert.equal(oldKeyFlow.replies.length, 0, "packets crossed with an old key");

    // The whole old config (old keys on both sides, peers' Endpoints as they are now): nothing either.
    const endpoints = await wgShow(lab, x, "endpoints");
    const byName = new Map(plan.nodes.map((n) => [second.keys.publicKeys[n.name] as string, n.name]));
    const oldConfig = structuredClone(first.configs[x]) as WgQuickConfig;
    for (const peer of oldConfig.peers) {
      const name = [...byName.entries()].find(([, n]) => first.keys.publicKeys[n] === peer.publicKey)?.[1] as string;
      const now = [...endpoints.entries()].find(([key]) => byName.get(key) === name)?.[1];
      if (now && now !== "(none)") peer.endpoint = now;
    }
    const scratch = mkdtempSync(join(tmpdir(), "wgmesh-rotation-"));
    try {
      writeFileSync(join(scratch, "old.conf"), stripForWg(oldConfig), { mode: 0o600 });
      await run("ip", ["netns", "exec", node(x).namespace, "wg", "setconf", fraIface, join(scratch, "old.conf")]);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
    const oldSetAt = Math.floor(Date.now() / 1000) + 1;
    await sleep(1000);
    const probe2 = continuousPing(node(x).namespace, node("dub").overlay as string);
    await sleep(7000);
    const oldConfigFlow = await probe2.stop();
    assert.ok((await handshakes()).every((at) => at < oldSetAt), "a handshake completed with the old config");
    assert.equal(oldConfigFlow.replies.length, 0);
    t.diagnostic(`old key: ${oldKeyFlow.transmitted} pings, ${oldKeyFlow.replies.length} answered; whole old config: ${oldConfigFlow.transmitted} pings, ${oldConfigFlow.replies.length} answered`);

    // Back on its applied config, it handshakes again.
    const files = syncFilesOf(state.workDir, fraIface);
    await run("ip", ["netns", "exec", node(x).namespace, "bash", "-c", `wg syncconf ${fraIface} <(wg-quick strip ${files.installed})`]);
    const back = await lab.pingMatrix();
    assert.equal(back.reachable, back.total);
  } finally {
    lab.down();
  }
  assert.deepEqual(leftoversOfLab(lab.id), [], `lab ${lab.id} left things behind`);
});
