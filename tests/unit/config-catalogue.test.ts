/**
 * Cloud placements against the shipped catalogue (infra/latency/cloud-regions.json) and the
 * declaration's `extraRegions`, and every other placement value against its cloud's shape.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { parseMeshConfig } from "../../infra/config";
import { SHIPPED_CATALOGUE } from "../../infra/latency/regions";
import type { ConfigIssue } from "../../infra/model";
import { runCliInProcess } from "../support/cli-in-process";
import { baseRaw, configIssuesOf, type Raw } from "../support/raw-config";

const lines = (issues: ConfigIssue[]) => issues.map((i) => `${i.path}: ${i.message}`);

function only(raw: unknown): string {
  const found = lines(configIssuesOf(raw));
  assert.equal(found.length, 1, found.join("\n"));
  return found[0] as string;
}

function withNode(edit: (nodes: Raw["nodes"]) => void, extra: Record<string, unknown> = {}): Raw {
  const raw = { ...baseRaw(), ...extra };
  edit(raw.nodes);
  return raw;
}

const withoutSites = (nodes: Raw["nodes"]) => {
  for (const n of Object.values(nodes)) delete n.site;
};

test("the catalogue states the day it was checked, and knows zones for every GCP region it lists", () => {
  assert.match(SHIPPED_CATALOGUE.date, /^\d{4}-\d{2}-\d{2}$/);
  for (const region of SHIPPED_CATALOGUE.regions.gcp.keys()) assert.ok((SHIPPED_CATALOGUE.gcpZones.get(region)?.length ?? 0) >= 3, region);
});

test("an unknown AWS region, Azure location or GCP zone is one line at the node's key with the closest real one, with or without site", () => {
  const cases: [string, (n: Raw["nodes"]) => void, RegExp][] = [
    ["nodes.ireland.aws.region", (n) => void ((n.ireland as Raw).aws = { region: "eu-west-9" }), /^unknown AWS region "eu-west-9"; did you mean eu-west-1\? If it is newer than wg-mesh's catalogue \(\d{4}-\d\d-\d\d\), add it under extraRegions\.aws$/],
    ["nodes.nrt.azure.location", (n) => void ((n.nrt as Raw).azure = { location: "japaneast2" }), /^unknown Azure location "japaneast2"; did you mean japaneast\? .*extraRegions\.azure$/],
    ["nodes.hkg.gcp.zone", (n) => void ((n.hkg as Raw).gcp = { project: "edgeproxy-prod", zone: "europe-west3-q" }), /^unknown GCP zone "europe-west3-q": europe-west3's zones are a, b, c; did you mean europe-west3-a\? .*extraRegions\.gcp\.europe-west3\.zones$/],
    ["nodes.hkg.gcp.zone", (n) => void ((n.hkg as Raw).gcp = { project: "edgeproxy-prod", zone: "europe-west33-a" }), /^unknown GCP zone "europe-west33-a": there is no region europe-west33; did you mean europe-west3-a\? .*extraRegions\.gcp$/],
    ["nodes.hkg.gcp.zone", (n) => void ((n.hkg as Raw).gcp = { project: "edgeproxy-prod", zone: "europe-west1-a" }), /europe-west1's zones are b, c, d; did you mean europe-west1-b\?/],
  ];
  for (const [path, edit, message] of cases) {
    for (const sites of [true, false]) {
      const line = only(withNode((n) => (edit(n), sites ? undefined : withoutSites(n))));
      assert.ok(line.startsWith(`${path}: `), `${sites ? "with" : "without"} site: ${line}`);
      assert.match(line.slice(path.length + 2), message);
    }
  }
});

test("every region, zone and location of the catalogue is accepted, and those it places need no site", () => {
  const accepted = (node: Record<string, unknown>, needsSite: boolean) => {
    const raw = withNode((n) => Object.assign(n.nrt as Raw, { ...node, site: needsSite ? "nrt" : undefined }));
    if (!needsSite) delete (raw.nodes.nrt as Raw).site;
    assert.doesNotThrow(() => parseMeshConfig(raw), JSON.stringify(node));
  };
  for (const [region, site] of SHIPPED_CATALOGUE.regions.aws) accepted({ cloud: "aws", azure: undefined, aws: { region } }, site === undefined);
  for (const [location, site] of SHIPPED_CATALOGUE.regions.azure) accepted({ cloud: "azure", azure: { location } }, site === undefined);
  for (const [region, site] of SHIPPED_CATALOGUE.regions.gcp) {
    for (const letter of SHIPPED_CATALOGUE.gcpZones.get(region) ?? []) accepted({ cloud: "gcp", azure: undefined, gcp: { project: "edgeproxy-prod", zone: `${region}-${letter}` } }, site === undefined);
  }
});

test("extraRegions: a region newer than the catalogue, a zone it lacks, and what is refused there", () => {
  const aws = (region: string) => (n: Raw["nodes"]) => void ((n.ireland as Raw).aws = { region });
  // A new region with its metro: the node needs no site.
  const spec = parseMeshConfig(withNode((n) => (aws("ap-southeast-9")(n), withoutSites(n)), { extraRegions: { aws: { "ap-southeast-9": { site: "syd" } } } }));
  assert.equal(spec.nodes.find((x) => x.name === "ireland")?.site, "syd");
  // A new region without one: the node names its own site.
  assert.match(only(withNode((n) => (aws("ap-southeast-9")(n), withoutSites(n)), { extraRegions: { aws: { "ap-southeast-9": {} } } })), /^nodes\.ireland\.site: is required/);
  assert.doesNotThrow(() => parseMeshConfig(withNode(aws("ap-southeast-9"), { extraRegions: { aws: { "ap-southeast-9": {} } } })));
  // A site of one's own, declared under latency.sites.
  assert.doesNotThrow(() => parseMeshConfig(withNode(aws("ap-southeast-9"), { extraRegions: { aws: { "ap-southeast-9": { site: "akl-dc" } } }, latency: { sites: { "akl-dc": { lat: -36.8, lon: 174.7 } } } })));

  const gcpZone = (zone: string) => (n: Raw["nodes"]) => void ((n.hkg as Raw).gcp = { project: "edgeproxy-prod", zone });
  // A zone letter a known region lacks, added; the others stay as they are.
  assert.doesNotThrow(() => parseMeshConfig(withNode(gcpZone("europe-west3-d"), { extraRegions: { gcp: { "europe-west3": { zones: ["d"] } } } })));
  assert.match(only(withNode(gcpZone("europe-west3-e"), { extraRegions: { gcp: { "europe-west3": { zones: ["d"] } } } })), /europe-west3's zones are a, b, c, d;/);
  // A new GCP region: its listed zones only, or any letter when none are listed.
  assert.match(only(withNode(gcpZone("asia-southeast9-d"), { extraRegions: { gcp: { "asia-southeast9": { site: "sin", zones: ["a", "b"] } } } })), /asia-southeast9's zones are a, b;/);
  assert.doesNotThrow(() => parseMeshConfig(withNode(gcpZone("asia-southeast9-d"), { extraRegions: { gcp: { "asia-southeast9": { site: "sin" } } } })));

  const refusedAt = (extraRegions: unknown, path: string, message: RegExp) => {
    const line = only({ ...baseRaw(), extraRegions });
    assert.ok(line.startsWith(`${path}: `), line);
    assert.match(line, message);
  };
  refusedAt({ aws: { "eu-west-1": { site: "lhr" } } }, "extraRegions.aws.eu-west-1.site", /already places AWS region eu-west-1 in dub; leave site out/);
  refusedAt({ azure: { taiwannorth: { site: "tpee" } } }, "extraRegions.azure.taiwannorth.site", /unknown site "tpee"; did you mean tpe\?/);
  refusedAt({ azure: { "Taiwan North": { site: "tpe" } } }, 'extraRegions.azure["Taiwan North"]', /is not an Azure location name; write it like taiwannorth/);
  refusedAt({ gcp: { "asia-southeast9": { zones: ["ab"] } } }, "extraRegions.gcp.asia-southeast9.zones[0]", /must be one zone letter/);
  refusedAt({ oracle: {} }, "extraRegions.oracle", /unknown key/);
});

test("values no catalogue lists are held to their cloud's documented shape, at the key that holds them", () => {
  const place = (node: string, cloud: string, block: Record<string, unknown>) => (n: Raw["nodes"]) => void Object.assign((n[node] as Raw)[cloud] as Record<string, unknown>, block);
  const bad: [string, (n: Raw["nodes"]) => void, RegExp][] = [
    ["nodes.hkg.gcp.machineType", place("hkg", "gcp", { machineType: 'e2-small"\\' }), /^"e2-small\\"\\\\" is not a machine type name/],
    ["nodes.hkg.gcp.machineType", place("hkg", "gcp", { machineType: "E2-Small" }), /is not a machine type name/],
    ["nodes.hkg.gcp.image", place("hkg", "gcp", { image: "ubuntu-os-cloud/ubuntu 24.04" }), /is not an image or image family/],
    ["nodes.hkg.gcp.image", place("hkg", "gcp", { image: "https://evil.example/compute/v1/projects/p/global/images/x" }), /is not an image or image family/],
    ["nodes.hkg.gcp.network", place("hkg", "gcp", { network: "my_net" }), /is not a VPC network name or self link/],
    ["nodes.hkg.gcp.subnetwork", place("hkg", "gcp", { subnetwork: "projects/edgeproxy-prod/regions/asia-east2/subnets/x" }), /is not a subnetwork name or self link/],
    ["nodes.ireland.aws.instanceType", place("ireland", "aws", { instanceType: "t3micro" }), /is not an EC2 instance type \(family\.size/],
    ["nodes.ireland.aws.instanceType", place("ireland", "aws", { instanceType: "T3.micro" }), /is not an EC2 instance type/],
    ["nodes.ireland.aws.ami", place("ireland", "aws", { ami: "ami-12345" }), /is not an AMI id/],
    ["nodes.ireland.aws.vpcId", place("ireland", "aws", { vpcId: "vpc-0123456789abcdefg" }), /is not a VPC id/],
    ["nodes.ireland.aws.subnetId", place("ireland", "aws", { subnetId: "sg-01234567" }), /is not a subnet id/],
    ["nodes.nrt.azure.vmSize", place("nrt", "azure", { vmSize: "B1s" }), /is not a VM size such as Standard_B1s/],
    ["nodes.nrt.azure.image", place("nrt", "azure", { image: "Canonical:ubuntu-24_04-lts:server:24.04" }), /version latest or Major\.Minor\.Build/],
    ["nodes.nrt.azure.image", place("nrt", "azure", { image: 'Canonical:ubuntu:"server":latest' }), /is not an image URN/],
    ["nodes.nrt.azure.subnetId", place("nrt", "azure", { subnetId: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s" }), /is not a subnet's resource id/],
  ];
  for (const [path, edit, message] of bad) {
    const line = only(withNode(edit));
    assert.ok(line.startsWith(`${path}: `), line);
    assert.match(line.slice(path.length + 2), message);
  }
  // A default is reported once, at defaults, however many nodes take it.
  assert.match(only({ ...baseRaw(), defaults: { gcp: { machineType: 'e2-small"\\' } } }), /^defaults\.gcp\.machineType: /);

  const good: [string, Record<string, unknown>][] = [
    ["gcp", { machineType: "e2-small", image: "ubuntu-os-cloud/ubuntu-2404-lts-amd64", network: "default" }],
    ["gcp", { machineType: "n2-custom-2-4096", image: "projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-arm64", network: "projects/edgeproxy-prod/global/networks/edge" }],
    ["gcp", { image: "https://www.googleapis.com/compute/v1/projects/debian-cloud/global/images/debian-12-bookworm-v20240110", subnetwork: "projects/edgeproxy-prod/regions/asia-east2/subnetworks/edge" }],
    ["gcp", { image: "family/my-image", network: "global/networks/edge", subnetwork: "edge-asia" }],
    ["aws", { instanceType: "t4g.small", ami: "ami-0123456789abcdef0", vpcId: "vpc-01234567", subnetId: "subnet-0123456789abcdef0" }],
    ["aws", { instanceType: "u-6tb1.112xlarge" }],
    ["aws", { instanceType: "c7i.metal-24xl" }],
    ["azure", { vmSize: "Standard_D2ps_v5", image: "Canonical:ubuntu-24_04-lts:server-arm64:24.04.202404230" }],
    ["azure", { vmSize: "Standard_E64-32s_v3", subnetId: "/subscriptions/01234567-89ab-cdef-0123-456789abcdef/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/edge/subnets/wg" }],
  ];
  const nodeOf: Record<string, string> = { aws: "ireland", gcp: "hkg", azure: "nrt" };
  for (const [cloud, block] of good) assert.doesNotThrow(() => parseMeshConfig(withNode(place(nodeOf[cloud] as string, cloud, block))), JSON.stringify(block));
});

test("wgmesh plan refuses the issue's examples in one line each, naming the file, and writes nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-catalogue-"));
  try {
    const raw = withNode((n) => {
      (n.ireland as Raw).aws = { region: "eu-west-9" };
      (n.nrt as Raw).azure = { location: "japaneast2" };
      (n.hkg as Raw).gcp = { project: "edgeproxy-prod", zone: "europe-west3-q", machineType: 'e2-small"\\' };
      (n.nrt as Raw).site = "xyz";
    });
    writeFileSync(join(dir, "Pulumi.yaml"), "name: wg-mesh\nruntime: nodejs\n");
    writeFileSync(join(dir, "Pulumi.bad.yaml"), stringify({ config: { "wg-mesh:mesh": raw } }));
    const r = await runCliInProcess(["plan", "--stack", "bad"], dir);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    const out = r.stderr.trimEnd().split("\n");
    assert.deepEqual(
      out.map((l) => l.split(": ")[0]),
      ["nodes.ireland.aws.region", "nodes.hkg.gcp.zone", "nodes.hkg.gcp.machineType", "nodes.nrt.azure.location", "nodes.nrt.site", "5 problems in Pulumi.bad.yaml; nothing was written"],
      r.stderr,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
