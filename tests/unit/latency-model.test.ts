/**
 * The latency model: measured values come back as measured, the great-circle estimate is
 * fitted on the Azure table and its error is stated on pairs it was not fitted on, and every
 * cloud region maps to a placed site.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { CLOUD_REGION_SITES, MEASURED_TABLES, SHIPPED_SITES } from "../../infra/latency/data";
import { errorOn, estimateRtt, fitRoute, leaveOneSiteOut, measuredPairs } from "../../infra/latency/fit";
import { fibreFloorMs, greatCircleKm } from "../../infra/latency/geo";
import { LatencyModel, ROUTE_FIT, SAME_SITE_RTT_MS } from "../../infra/latency/model";
import { siteOfPlacement } from "../../infra/latency/regions";
import { seedSpec } from "../support/seed-spec";

const REPO = resolve(__dirname, "..", "..");
const [azure, aws] = MEASURED_TABLES as [(typeof MEASURED_TABLES)[0], (typeof MEASURED_TABLES)[0]];

test("the model returns every measured round trip of the shipped tables as measured, both ways", () => {
  const model = new LatencyModel();
  const raw = JSON.parse(readFileSync(join(REPO, "infra", "latency", "rtt-azure-2025.json"), "utf8")) as { rttMs: Record<string, number> };
  assert.equal(Object.keys(raw.rttMs).length, 66, "every pair of the seed's 12 sites");
  for (const [key, ms] of Object.entries(raw.rttMs)) {
    const [a, b] = key.split("-") as [string, string];
    assert.deepEqual(model.rtt(a, b), { ms, source: "azure-2025" }, key);
    assert.deepEqual(model.rtt(b, a), { ms, source: "azure-2025" }, `${b}-${a}`);
  }
  // Where Azure has no figure the AWS table answers (no such pair among the shipped sites yet), then the estimate.
  assert.equal(model.rtt("dub", "hkg")?.ms, 196);
  assert.equal(model.rtt("ams", "waw")?.source, "estimate");
});

test("held-out error: fitted without a site, the estimate of that site's pairs is off by a median 11% (p90 28%)", (t) => {
  const pairs = measuredPairs(azure, SHIPPED_SITES);
  assert.equal(pairs.length, 66);
  const loso = leaveOneSiteOut(pairs);
  const onAws = errorOn(ROUTE_FIT, measuredPairs(aws, SHIPPED_SITES));
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  t.diagnostic(`fit on the Azure 2025 table: rtt = ${ROUTE_FIT.inflation.toFixed(3)} x fibre floor + ${ROUTE_FIT.constantMs.toFixed(2)} ms`);
  t.diagnostic(`leave one site out (${loso.pairs} estimates): median ${pct(loso.medianRelative)}, p90 ${pct(loso.p90Relative)}, max ${pct(loso.maxRelative)}; median ${loso.medianAbsMs.toFixed(1)} ms, max ${loso.maxAbsMs.toFixed(1)} ms`);
  t.diagnostic(`against the AWS 2023 table (${onAws.pairs} pairs, another cloud and year): median ${pct(onAws.medianRelative)}, p90 ${pct(onAws.p90Relative)}, max ${pct(onAws.maxRelative)}`);
  assert.ok(loso.medianRelative < 0.12 && loso.medianRelative > 0.08, pct(loso.medianRelative));
  assert.ok(loso.p90Relative < 0.3, pct(loso.p90Relative));
  assert.ok(loso.maxRelative < 0.4, pct(loso.maxRelative));
  assert.ok(onAws.medianRelative < 0.15, pct(onAws.medianRelative));
  // The figures the README states.
  assert.equal(ROUTE_FIT.inflation.toFixed(2), "1.47");
  assert.equal(ROUTE_FIT.constantMs.toFixed(1), "6.3");
});

test("the fit recovers known parameters, and the estimate never beats light in fibre", () => {
  const truth = { inflation: 1.6, constantMs: 4 };
  const points = [5, 20, 60, 120, 200].map((floorMs) => ({ floorMs, rttMs: estimateRtt(truth, floorMs) }));
  const fit = fitRoute(points);
  assert.ok(Math.abs(fit.inflation - 1.6) < 1e-9 && Math.abs(fit.constantMs - 4) < 1e-9);
  const model = new LatencyModel();
  const codes = [...SHIPPED_SITES.keys()];
  for (const a of codes) {
    for (const b of codes) {
      if (a >= b) continue;
      const r = model.rtt(a, b);
      if (r?.source !== "estimate") continue;
      const floor = fibreFloorMs(greatCircleKm(SHIPPED_SITES.get(a) as { lat: number; lon: number }, SHIPPED_SITES.get(b) as { lat: number; lon: number }));
      assert.ok(r.ms >= floor, `${a}-${b}: ${r.ms} below the floor ${floor}`);
    }
  }
});

test("a stack's own sites and round trips: overrides win, the same site is a local hop, unknown sites have no figure", () => {
  const model = new LatencyModel({ sites: { office: { lat: 52.37, lon: 4.9 } }, rttMs: [{ a: "dub", b: "hkg", ms: 180 }, { a: "office", b: "ams", ms: 2 }, { a: "fra", b: "fra", ms: 3 }] });
  assert.deepEqual(model.rtt("hkg", "dub"), { ms: 180, source: "config" });
  assert.deepEqual(model.rtt("ams", "office"), { ms: 2, source: "config" });
  assert.equal(model.rtt("office", "fra")?.source, "estimate");
  assert.deepEqual(model.rtt("fra", "fra"), { ms: 3, source: "config" });
  assert.deepEqual(model.rtt("lhr", "lhr"), { ms: SAME_SITE_RTT_MS, source: "same-site" });
  assert.equal(model.rtt("dub", "nowhere"), undefined);
  assert.equal(new LatencyModel().knowsSite("office"), false);
});

test("every cloud region maps to a placed site; the seed's nodes are where their regions are", () => {
  for (const cloud of ["aws", "gcp", "azure"] as const) {
    assert.ok(CLOUD_REGION_SITES[cloud].size > 30, cloud);
    for (const [region, site] of CLOUD_REGION_SITES[cloud]) assert.ok(SHIPPED_SITES.has(site), `${cloud} ${region} -> ${site}`);
  }
  for (const node of seedSpec().nodes) {
    const expected = node.name === "ireland" ? "dub" : node.name;
    assert.equal(siteOfPlacement(node), expected, node.name);
  }
  assert.equal(siteOfPlacement({ cloud: "gcp", gcp: { zone: "europe-west4-b" } }), "ams", "a zone maps through its region");
  assert.equal(siteOfPlacement({ cloud: "aws", aws: { region: "constructor" } }), undefined);
  assert.equal(siteOfPlacement({ cloud: "external" }), undefined);
});
