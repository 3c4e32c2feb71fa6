/**
 * The lab on real WireGuard: wireguard-go in network namespaces, real pings. Needs root,
 * wireguard-go, wg, ip, ping and /dev/net/tun; where the machine lacks one the tests are
 * skipped and say why. Every test ends by proving the lab left nothing behind.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { WgQuickConfig } from "../../infra/model";
import { run } from "../../lab/exec";
import { Lab, type LabOptions } from "../../lab/lab";
import { parseLatencyJson } from "../../lab/latency";
import type { PingMatrix } from "../../lab/ping";
import { labBlocker } from "../../lab/preflight";
import { sampleMesh } from "../../lab/sample-mesh";
import { continuousPing, lostPackets, type PingFlow } from "../support/ping-flow";
import { readState } from "../../lab/state";
import { leftoversOfLab } from "../../lab/teardown";

const blocker = labBlocker();
if (blocker) process.stderr.write(`\n*** SKIPPING the real-WireGuard lab tests: ${blocker} ***\n\n`);
const REPO = resolve(__dirname, "..", "..");

function labTest(name: string, fn: () => Promise<void>): void {
  test(name, { skip: blocker ? `lab cannot run here: ${blocker}` : false, timeout: 180_000 }, fn);
}

function assertNothingLeft(id: string): void {
  assert.deepEqual(leftoversOfLab(id), [], `lab ${id} left things behind`);
  assert.equal(readState(id), undefined, `lab ${id} left its state file`);
}

/** Brings a lab up, runs the body, always takes it down, then checks nothing is left. */
async function withLab(configs: Record<string, WgQuickConfig>, opts: LabOptions, body: (lab: Lab) => Promise<void>): Promise<void> {
  const lab = await Lab.up(configs, opts);
  try {
    await body(lab);
  } finally {
    lab.down();
  }
  assertNothingLeft(lab.id);
}

/** "from>to" -> hops, or null when unreachable. */
function hopsOf(m: PingMatrix): Record<string, number | null> {
  return Object.fromEntries(m.pairs.map((p) => [`${p.from}>${p.to}`, p.reachable ? (p.hops ?? null) : null]));
}

function unreachable(m: PingMatrix): string[] {
  return m.pairs.filter((p) => !p.reachable).map((p) => `${p.from}>${p.to}`).sort();
}

labTest("hub and 3 spokes: every pair reachable, 1 hop to the hub, 2 hops spoke to spoke", async () => {
  const mesh = sampleMesh({ hub: "hub", spokes: ["a", "b", "c"] });
  await withLab(mesh.configs, {}, async (lab) => {
    const m = await lab.pingMatrix();
    assert.equal(m.total, 12);
    assert.deepEqual(unreachable(m), []);
    const hops = hopsOf(m);
    for (const s of ["a", "b", "c"]) {
      assert.equal(hops[`hub>${s}`], 1);
      assert.equal(hops[`${s}>hub`], 1);
    }
    for (const [x, y] of [["a", "b"], ["b", "c"], ["c", "a"]]) {
      assert.equal(hops[`${x}>${y}`], 2);
      assert.equal(hops[`${y}>${x}`], 2);
    }
    // Every endpoint WireGuard uses is a lab underlay address, never the configs' placeholders.
    for (const n of lab.nodeInfo()) {
      const endpoints = (await run("wg", ["show", n.iface, "endpoints"])).stdout.trim().split("\n");
      assert.equal(endpoints.length, n.name === "hub" ? 3 : 1);
      for (const line of endpoints) assert.match(line, /\t198\.1[89]\.\d+\.\d+:51820$/, `${n.name}: ${line}`);
    }
  });
});

labTest("forwarding off on the hub: spokes cannot reach each other, the hub still reaches them; apply() turns it on", async () => {
  const noForwarding = sampleMesh({ hub: "hub", spokes: ["a", "b", "c"], hubForwards: false });
  await withLab(noForwarding.configs, {}, async (lab) => {
    const hub = lab.nodeInfo().find((n) => n.name === "hub");
    assert.ok(hub);
    assert.equal((await run("ip", ["netns", "exec", hub.namespace, "sysctl", "-n", "net.ipv4.ip_forward"])).stdout.trim(), "0");
    const off = await lab.pingMatrix({ retries: 1 });
    assert.deepEqual(unreachable(off), ["a>b", "a>c", "b>a", "b>c", "c>a", "c>b"]);
    for (const s of ["a", "b", "c"]) {
      assert.equal(hopsOf(off)[`hub>${s}`], 1);
      assert.equal(hopsOf(off)[`${s}>hub`], 1);
    }

    const forwarding = sampleMesh({ hub: "hub", spokes: ["a", "b", "c"], keys: noForwarding.keys });
    await lab.apply("hub", forwarding.configs.hub as WgQuickConfig);
    assert.equal((await run("ip", ["netns", "exec", hub.namespace, "sysctl", "-n", "net.ipv4.ip_forward"])).stdout.trim(), "1");
    const on = await lab.pingMatrix();
    assert.deepEqual(unreachable(on), []);
    assert.equal(hopsOf(on)["a>b"], 2);
  });
});

labTest("--latency with scale: measured overlay RTTs are ordered like the file's", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-lab-latency-"));
  try {
    // Copied from /work/shared/latency/rtt-azure-2025.json (Azure network round-trip latency statistics, P50, July 2025).
    const file = join(dir, "rtt.json");
    writeFileSync(file, JSON.stringify({ description: "Azure P50 July 2025, subset", rttMs: { "dub-iad": 72, "iad-syd": 198, "dub-syd": 256 } }));
    const latency = parseLatencyJson(readFileSync(file, "utf8"), file);
    const mesh = sampleMesh({ hub: "dub", spokes: ["iad", "syd"], direct: [["iad", "syd"]] });
    await withLab(mesh.configs, { latency, scale: 0.1 }, async (lab) => {
      assert.equal(lab.emulatedLinks.length, 3);
      const m = await lab.pingMatrix();
      assert.deepEqual(unreachable(m), []);
      const rtt = (a: string, b: string): number => {
        const p = m.pairs.find((x) => x.from === a && x.to === b);
        assert.ok(p?.rttMs !== undefined, `${a}>${b} has an RTT`);
        assert.equal(p.hops, 1, `${a}>${b} is a direct link`);
        return p.rttMs;
      };
      for (const [x, y] of [["dub", "iad"], ["iad", "dub"]] as const) {
        assert.ok(rtt(x, y) < rtt("iad", "syd"), `${x}>${y} ${rtt(x, y)} < iad>syd ${rtt("iad", "syd")}`);
        assert.ok(rtt(x, y) < rtt("syd", "iad"));
      }
      for (const [x, y] of [["iad", "syd"], ["syd", "iad"]] as const) {
        assert.ok(rtt(x, y) < rtt("dub", "syd"), `${x}>${y} ${rtt(x, y)} < dub>syd ${rtt("dub", "syd")}`);
        assert.ok(rtt(x, y) < rtt("syd", "dub"));
      }
      // The relay holds each datagram for half the round trip each way, never less.
      const emulated: Record<string, number> = { "dub-iad": 7.2, "iad-syd": 19.8, "dub-syd": 25.6 };
      for (const [link, ms] of Object.entries(emulated)) {
        const [x, y] = link.split("-") as [string, string];
        for (const [from, to] of [[x, y], [y, x]] as const) assert.ok(rtt(from, to) >= ms, `${from}>${to} ${rtt(from, to)}ms is below the emulated ${ms}ms`);
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

labTest("a node joins while traffic flows: zero lost packets on the running pair, the new node reachable from all", async () => {
  const before = sampleMesh({ hub: "hub", spokes: ["a", "b", "c"] });
  await withLab(before.configs, {}, async (lab) => {
    assert.deepEqual(unreachable(await lab.pingMatrix()), []);
    const a = lab.nodeInfo().find((n) => n.name === "a");
    assert.ok(a);
    const flow = continuousPing(a.namespace, before.addresses.b as string);
    let result: PingFlow;
    try {
      await new Promise((r) => setTimeout(r, 500));
      const after = sampleMesh({ hub: "hub", spokes: ["a", "b", "c", "d"], direct: [["a", "d"]], keys: before.keys });
      await lab.addNode("d", after.configs.d as WgQuickConfig);
      for (const n of ["hub", "a", "b", "c"]) await lab.apply(n, after.configs[n] as WgQuickConfig);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      result = await flow.stop();
    }

    assert.ok(result.replies.length >= 20, `the ping ran across the change (${result.replies.length} replies)`);
    assert.deepEqual(lostPackets(result), [], "packets lost while the mesh changed");

    const m = await lab.pingMatrix();
    assert.equal(m.total, 20);
    assert.deepEqual(unreachable(m), []);
    const hops = hopsOf(m);
    assert.equal(hops["d>a"], 1, "the new direct link is used");
    assert.equal(hops["a>d"], 1);
    assert.equal(hops["d>b"], 2);
    assert.equal(hops["c>d"], 2);
  });
});

labTest("hub failure: only directly linked spokes still reach each other; after a restart every pair recovers", async () => {
  const mesh = sampleMesh({ hub: "hub", spokes: ["a", "b", "c"], direct: [["a", "b"]] });
  await withLab(mesh.configs, {}, async (lab) => {
    assert.deepEqual(unreachable(await lab.pingMatrix()), []);
    const hub = lab.nodeInfo().find((n) => n.name === "hub");
    assert.ok(hub);

    await lab.stopNode("hub");
    assert.equal((await run("wg", ["show", hub.iface], { allowFailure: true })).code !== 0, true, "the hub's interface is gone");
    const down = await lab.pingMatrix({ retries: 1 });
    assert.deepEqual(
      down.pairs.filter((p) => p.reachable).map((p) => `${p.from}>${p.to}:${p.hops}`).sort(),
      ["a>b:1", "b>a:1"],
    );

    await lab.startNode("hub");
    const up = await lab.pingMatrix({ retries: 20, retryDelayMs: 500 });
    assert.deepEqual(unreachable(up), []);
    assert.equal(hopsOf(up)["a>c"], 2);
  });
});

labTest("a failure during bring-up removes everything it made and says what failed", async () => {
  const mesh = sampleMesh({ hub: "hub", spokes: ["a"] });
  const broken = { ...mesh.configs, a: { ...(mesh.configs.a as WgQuickConfig), iface: { ...(mesh.configs.a as WgQuickConfig).iface, addresses: ["10.77.0.2/99"] } } };
  let id = "";
  await assert.rejects(
    Lab.up(broken, { onProgress: (m) => (id ||= /^lab ([0-9a-f]{6}):/.exec(m)?.[1] ?? "") }),
    (err: Error) => err.name === "LabError" && !err.message.includes("\n") && /10\.77\.0\.2\/99/.test(err.message),
  );
  assert.match(id, /^[0-9a-f]{6}$/);
  assertNothingLeft(id);
});

labTest("configs without usable keys are refused before anything is created, without echoing the bad value", async () => {
  const mesh = sampleMesh({ hub: "hub", spokes: ["a"] });
  const placeholder = { ...mesh.configs, a: { ...(mesh.configs.a as WgQuickConfig), iface: { ...(mesh.configs.a as WgQuickConfig).iface, privateKey: "<a-private-key>" } } };
  await assert.rejects(Lab.up(placeholder), /lab: a: \[Interface\] PrivateKey is not a WireGuard key/);
  const twin = { ...mesh.configs, a: { ...(mesh.configs.a as WgQuickConfig), iface: { ...(mesh.configs.a as WgQuickConfig).iface, privateKey: mesh.keys.hub?.privateKey } } };
  await assert.rejects(Lab.up(twin), /hub and a have the same PrivateKey/);
  const a = mesh.configs.a as WgQuickConfig;
  const psk = { ...mesh.configs, a: { ...a, peers: a.peers.map((p) => ({ ...p, presharedKey: "<a--hub-preshared-key>" })) } };
  await assert.rejects(Lab.up(psk), (err: Error) => /a: \[Peer\] #1 \(hub\): PresharedKey is not/.test(err.message) && !err.message.includes("<a--hub"));
});

labTest("a kept lab survives its Lab object and Lab.downAll removes it", async () => {
  const mesh = sampleMesh({ hub: "hub", spokes: ["a"] });
  const lab = await Lab.up(mesh.configs);
  try {
    lab.keep();
    assert.equal(readState(lab.id)?.kept, true);
    assert.notDeepEqual(leftoversOfLab(lab.id), []);
    const { removed } = Lab.downAll();
    assert.ok(removed.includes(lab.id));
  } finally {
    Lab.downById(lab.id);
  }
  assertNothingLeft(lab.id);
});

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  labTest(`${signal} (${signal === "SIGINT" ? "Ctrl-C" : "kill"}) to the process running a lab tears the lab down and exits ${code}`, async () => {
    const mesh = sampleMesh({ hub: "hub", spokes: ["a"] });
    const script = `
      const { Lab } = require("./lab/lab.ts");
      const configs = JSON.parse(process.env.LAB_CONFIGS);
      for (const c of Object.values(configs)) c.iface.other = new Map(); // a Map does not survive JSON
      Lab.up(configs).then((lab) => { process.stdout.write(lab.id + "\\n"); setInterval(() => {}, 1000); });
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "-e", script], { cwd: REPO, env: { ...process.env, LAB_CONFIGS: JSON.stringify(mesh.configs) }, stdio: ["ignore", "pipe", "inherit"] });
    const id = await new Promise<string>((res, rej) => {
      child.stdout.once("data", (d: Buffer) => res(d.toString().trim()));
      child.once("exit", (code) => rej(new Error(`child exited early (${code})`)));
    });
    assert.match(id, /^[0-9a-f]{6}$/);
    assert.notDeepEqual(leftoversOfLab(id), []);
    const pids = (readState(id)?.processes ?? []).map((p) => p.pid);
    assert.equal(pids.length, 2, "one wireguard-go per node");
    const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
    child.kill(signal);
    assert.equal(await exited, code);
    assertNothingLeft(id);
    // Reaped before the process exited: orphaned, they would stay zombies under an init that does not reap.
    assert.deepEqual(pids.filter(isWireguardGoProcess), [], "wireguard-go processes (or zombies) of the lab remain");
  });
}

function isWireguardGoProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").includes("(wireguard-go)");
  } catch {
    return false;
  }
}
