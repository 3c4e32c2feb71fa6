/**
 * The latency settings of a stack config: topology auto's maxStretch and maxPeers, the
 * latency block, and a node's site taken from its cloud region when left out.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseMeshConfig } from "../../infra/config";
import type { ConfigIssue } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { configIssuesOf } from "../support/raw-config";

type Raw = Record<string, unknown> & { nodes: Record<string, Record<string, unknown>> };

function base(topology = "auto"): Raw {
  return {
    overlay: "10.50.0.0/16",
    topology,
    hub: "ireland",
    regions: { central: { subnet: "10.50.0.0/24" }, apac: { subnet: "10.50.4.0/24" } },
    nodes: {
      ireland: { role: "hub", region: "central", address: "10.50.0.1", cloud: "aws", aws: { region: "eu-west-1" } },
      hkg: { role: "pop", region: "apac", address: "10.50.4.1", cloud: "gcp", gcp: { project: "edgeproxy-prod", zone: "asia-east2-a" } },
      nrt: { role: "backend", region: "apac", address: "10.50.4.2", cloud: "azure", azure: { location: "japaneast" } },
    },
  };
}

const issuesOf = configIssuesOf;

function refused(raw: unknown, path: string, message: RegExp): void {
  const issues = issuesOf(raw);
  assert.deepEqual(issues.map((i) => i.path), [path], issues.map((i) => `${i.path}: ${i.message}`).join(" | "));
  assert.match((issues[0] as ConfigIssue).message, message);
}

test("a cloud node's site comes from its region, zone or location when left out", () => {
  const spec = parseMeshConfig(base());
  assert.deepEqual(
    spec.nodes.map((n) => [n.name, n.site]),
    [
      ["ireland", "dub"],
      ["hkg", "hkg"],
      ["nrt", "nrt"],
    ],
  );
  assert.equal(spec.maxStretch, undefined, "defaults are the planner's");
  const plan = planMesh(spec);
  assert.equal(plan.latency?.misses, 0);
});

test("a site that cannot be inferred: an external node, or a region the catalogue knows but places in no metro", () => {
  const ext = base();
  ext.nodes.laptop = { role: "backend", region: "central", address: "10.50.0.9", cloud: "external" };
  refused(ext, "nodes.laptop.site", /is required for an external node: the location code of where it runs, such as fra/);
  const gov = base("regional");
  (gov.nodes.ireland as Record<string, unknown>).aws = { region: "us-gov-west-1" };
  refused(gov, "nodes.ireland.site", /wg-mesh's catalogue does not place aws region "us-gov-west-1" in a metro; write its site code here, or once in extraRegions\.aws\.us-gov-west-1\.site/);
  // Given either way, it plans.
  assert.equal(parseMeshConfig({ ...gov, extraRegions: { aws: { "us-gov-west-1": { site: "pdx" } } } }).nodes[0]?.site, "pdx");
  (gov.nodes.ireland as Record<string, unknown>).site = "pdx";
  assert.equal(parseMeshConfig(gov).nodes[0]?.site, "pdx");
});

test("a region the catalogue does not list is blamed, not the site left out", () => {
  const odd = base("regional");
  (odd.nodes.nrt as Record<string, unknown>).azure = { location: "marscentral" };
  refused(odd, "nodes.nrt.azure.location", /^unknown Azure location "marscentral"; .*add it under extraRegions\.azure$/);
});

test("every node's site must be one the model places, in every topology: shipped, or under latency.sites", () => {
  for (const topology of ["auto", "regional", "hub", "full"]) {
    const raw = base(topology);
    (raw.nodes.nrt as Record<string, unknown>).site = "nrtt";
    refused(raw, "nodes.nrt.site", /^unknown site "nrtt"; did you mean nrt\? Or declare it under latency\.sites with its lat and lon$/);
    const declared = base(topology);
    (declared.nodes.nrt as Record<string, unknown>).site = "tokyo-dc2";
    declared.latency = { sites: { "tokyo-dc2": { lat: 35.6, lon: 139.8 } } };
    assert.equal(parseMeshConfig(declared).nodes[2]?.site, "tokyo-dc2", topology);
  }
});

test("maxStretch and maxPeers: ranges, and only with topology auto", () => {
  refused({ ...base(), maxStretch: 0.9 }, "maxStretch", /must be at least 1/);
  refused({ ...base(), maxPeers: 1 }, "maxPeers", /must be at least 2/);
  refused({ ...base(), maxPeers: 3.5 }, "maxPeers", /whole number/);
  refused({ ...base("regional"), maxPeers: 8 }, "maxPeers", /only topology auto uses it, and the topology is regional; remove it or set topology: auto/);
  const spec = parseMeshConfig({ ...base(), maxStretch: 1.5, maxPeers: 4 });
  assert.equal(spec.maxStretch, 1.5);
  assert.equal(spec.maxPeers, 4);
});

test("the latency block: coordinates in range, known sites, each pair given once", () => {
  refused({ ...base(), latency: { sites: { lab: { lat: 95, lon: 0 } } } }, "latency.sites.lab.lat", /must be at most 90 \(latitude in degrees\)/);
  refused({ ...base(), latency: { sites: { Lab_1: { lat: 5, lon: 0 } } } }, "latency.sites.Lab_1", /a site code is 2-16 of a-z/);
  refused({ ...base(), latency: { rttMs: { dub: { hkgg: 190 } } } }, "latency.rttMs.dub.hkgg", /unknown site "hkgg"; did you mean hkg\?/);
  refused({ ...base(), latency: { rttMs: { dub: { hkg: 0 } } } }, "latency.rttMs.dub.hkg", /must be above 0/);
  refused({ ...base(), latency: { rttMs: { dub: { hkg: 190 }, hkg: { dub: 200 } } } }, "latency.rttMs.hkg.dub", /also given at latency\.rttMs\.dub\.hkg as 190; give it once/);
  refused({ ...base(), latency: { rttMs: { dub: { hkg: 190 } }, extra: 1 } }, "latency.extra", /unknown key/);
  const spec = parseMeshConfig({ ...base(), latency: { rttMs: { dub: { hkg: 150 } } } });
  assert.deepEqual(spec.latency?.rttMs, [{ a: "dub", b: "hkg", ms: 150 }]);
  assert.equal(planMesh(spec).links.find((l) => l.id === "hkg--ireland")?.weight, 150, "an override is the link's weight");
});
