/** The lab's latency pieces that need no root: fping's output, the model as a relay table, the comparison. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseFpingCounts } from "../../lab/fping";
import { parseLatencyJson, rttBetween } from "../../lab/latency";
import { compareWithModel, modelLatencyTable } from "../../lab/model-compare";
import type { PingMatrix } from "../../lab/ping";
import { LatencyModel } from "../../infra/latency/model";
import { planMesh } from "../../infra/plan";
import { seedSpec } from "../support/seed-spec";

test("fping -C output: one time per request, - for a lost one; other lines ignored", () => {
  const out = ["10.50.0.1 : 0.10 0.08 0.09", "10.50.4.2 : - - -", "ICMP Time Exceeded from 10.50.0.1 for ICMP Echo sent to 10.50.4.3", "10.50.4.3 : - 12.5 11.9", ""].join("\n");
  const m = parseFpingCounts(out);
  assert.deepEqual(m.get("10.50.0.1"), [0.1, 0.08, 0.09]);
  assert.deepEqual(m.get("10.50.4.2"), [undefined, undefined, undefined]);
  assert.deepEqual(m.get("10.50.4.3"), [undefined, 12.5, 11.9]);
  assert.equal(m.size, 3);
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
