/** The lab's latency pieces that need no root: the batch pinger's output and arguments, the model as a relay table, the comparison. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { BATCH_PINGER, parseBatchReplies, pingerInterpreter } from "../../lab/batch-ping";
import { parseLatencyJson, rttBetween } from "../../lab/latency";
import { compareWithModel, modelLatencyTable } from "../../lab/model-compare";
import type { PingMatrix } from "../../lab/ping";
import { LatencyModel } from "../../infra/latency/model";
import { planMesh } from "../../infra/plan";
import { seedSpec } from "../support/seed-spec";

test("the batch pinger's lines: each reply's TTL and time per address, in the order they came; anything else ignored", () => {
  const out = ["10.64.4.1 1 60 8.600", "10.64.8.1 1 64 0.021", "10.64.4.1 2 60 5.250", "batch-ping: something else", "10.64.4.1 3 60", ""].join("\n");
  const m = parseBatchReplies(out);
  assert.deepEqual(m.get("10.64.4.1"), [
    { ttl: 60, timeMs: 8.6 },
    { ttl: 60, timeMs: 5.25 },
  ]);
  assert.deepEqual(m.get("10.64.8.1"), [{ ttl: 64, timeMs: 0.021 }]);
  assert.equal(m.size, 2);
});

test("the batch pinger refuses what it cannot send, in one line, before opening a socket", { skip: pingerInterpreter() === undefined }, () => {
  const [python, ...flags] = pingerInterpreter() as string[];
  const cases: [string[], RegExp][] = [
    [["1", "0.2"], /^batch-ping: usage: /],
    [["x", "0.2", "1", "10.64.0.1"], /^batch-ping: COUNT must be a whole number/],
    [["1", "0.2", "1", "10.64.0.1", "example.com"], /^batch-ping: 'example\.com' is not an IPv4 address$/],
    [["0", "0.2", "1", "10.64.0.1"], /^batch-ping: COUNT must be at least 1/],
    [["70000", "0", "1", "10.64.0.1"], /^batch-ping: 70000 rounds of 1 addresses is more than 65,535 requests$/],
  ];
  for (const [args, message] of cases) {
    const r = spawnSync(python as string, [...flags, BATCH_PINGER, ...args], { encoding: "utf8" });
    assert.equal(r.status, 2, args.join(" "));
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.split("\n").length, 2, r.stderr);
    assert.match(r.stderr.trimEnd(), message);
  }
});

test("the batch pinger without root: one line saying so, no traceback", { skip: pingerInterpreter() === undefined || process.getuid?.() !== 0 }, () => {
  const [python, ...flags] = pingerInterpreter() as string[];
  // The script goes in on stdin, so nobody needs no access to wherever the checkout lives.
  const r = spawnSync(python as string, [...flags, "-", "1", "0.2", "1", "10.64.0.1"], { input: readFileSync(BATCH_PINGER), uid: 65534, gid: 65534, encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr, "batch-ping: needs root: echo requests go out on a raw socket\n");
});

test("the model as the relay's table: every pair of the sites, one site with itself included; a file's table keeps no same-site delay", () => {
  const table = modelLatencyTable(new LatencyModel(), ["dub", "hkg", "dub", "waw"]);
  assert.equal(rttBetween(table, "hkg", "dub"), 196);
  assert.equal(rttBetween(table, "dub", "dub"), 1);
  assert.equal(rttBetween(table, "waw", "dub"), new LatencyModel().rttMs("dub", "waw"));
  const file = parseLatencyJson('{"dub-hkg": 196}', "f.json");
  assert.equal(rttBetween(file, "dub", "dub"), undefined);
});

test("measured against the model: the planned path's round trip times the scale, largest difference first", () => {
  const plan = planMesh(seedSpec());
  const matrix: PingMatrix = {
    nodes: ["hkg", "nrt", "gru"],
    pairs: [
      { from: "hkg", to: "nrt", reachable: true, hops: 1, rttMs: 5.6, attempts: 1 },
      { from: "hkg", to: "gru", reachable: true, hops: 2, rttMs: 40.1, attempts: 1 },
      { from: "nrt", to: "gru", reachable: false, attempts: 1 },
    ],
    reachable: 2,
    total: 3,
    elapsedMs: 1,
  };
  const c = compareWithModel(plan, matrix, 0.1);
  assert.equal(c.pairs.length, 2);
  assert.deepEqual(c.largest?.path, ["hkg", "ireland", "gru"]);
  assert.equal(c.largest?.modelMs.toFixed(1), "36.8");
  assert.equal(c.largest?.differenceMs.toFixed(1), "3.3");
  assert.equal(c.pairs[1]?.modelMs.toFixed(1), "5.3");
});
