import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readConfigDir } from "../../workspace/configdir";
import { simulate, type PairResult, type SimulationReport } from "../../infra/simulate";
import { APAC_BACKENDS, BACKENDS } from "../data/seed/generate";

const SEED_DIR = join(__dirname, "..", "data", "seed");
const report: SimulationReport = simulate(readConfigDir(SEED_DIR));

function pair(from: string, to: string): PairResult {
  const p = report.pairs.find((x) => x.from === from && x.to === to);
  assert.ok(p, `${from} -> ${to}`);
  return p;
}

test("the seed files are consistent: 12 nodes, every listed PublicKey is some node's PrivateKey", () => {
  assert.equal(report.nodes.length, 12);
  assert.equal(report.total, 132);
  for (const node of report.nodes) {
    assert.ok(node.publicKey, `${node.name} has a real key`);
    for (const peer of node.peers) assert.ok(peer.node, `${node.name} lists ${peer.publicKey.slice(0, 8)}…, which must be a seed node`);
  }
  assert.deepEqual(report.findings, [], "the seed's faults are routing ones, not key or endpoint ones");
});

test("seed: hkg -> gru dies at gru, whose only peer (ireland) does not carry HKG's subnet", () => {
  assert.deepEqual(pair("hkg", "gru").failure, { direction: "forward", at: "gru", reason: "source 10.50.5.1 is outside AllowedIPs of peer ireland" });
  assert.deepEqual(pair("hkg", "gru").path, ["hkg", "ireland", "gru"]);
});

test("seed: APAC backends cannot reach each other: nrt has no route to sin", () => {
  assert.deepEqual(pair("nrt", "sin").failure, { direction: "forward", at: "nrt", reason: "no route to 10.50.4.2: no AllowedIPs or Address prefix on its wg0 covers it" });
  assert.deepEqual(pair("gru", "nrt").failure, { direction: "forward", at: "gru", reason: "no route to 10.50.4.1: no AllowedIPs or Address prefix on its wg0 covers it" });
  assert.deepEqual(pair("nrt", "gru").failure, { direction: "forward", at: "gru", reason: "source 10.50.4.1 is outside AllowedIPs of peer ireland" });
});

test("seed: what works is what the seed designed: the hub with everyone, HKG with APAC, and the hub-routed non-APAC backends", () => {
  const nonApac = BACKENDS.map((b) => b.code).filter((c) => !APAC_BACKENDS.includes(c));
  const expected = new Set<string>();
  const both = (a: string, b: string): void => {
    expected.add(`${a}>${b}`);
    expected.add(`${b}>${a}`);
  };
  for (const n of report.nodes) if (n.name !== "ireland") both("ireland", n.name);
  for (const b of APAC_BACKENDS) both("hkg", b);
  for (const a of nonApac) for (const b of nonApac) if (a !== b) both(a, b);
  const actual = new Set(report.pairs.filter((p) => p.reachable).map((p) => `${p.from}>${p.to}`));
  assert.deepEqual([...actual].sort(), [...expected].sort());
  assert.deepEqual(pair("gru", "iad").path, ["gru", "ireland", "iad"]);
  assert.deepEqual(pair("hkg", "nrt").path, ["hkg", "nrt"]);
  console.log(`seed: ${report.reachable} of ${report.total} ordered pairs reachable`);
});
