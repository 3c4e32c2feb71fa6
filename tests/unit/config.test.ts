/**
 * The config loader: every kind of bad input gets its own config and must come back as
 * `path: message` naming the field and the fix; all problems of one config come at once.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadStackConfig, parseMeshConfig } from "../../infra/config";
import { MeshConfigError, type ConfigIssue } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { baseRaw, configIssuesOf, type Raw } from "../support/raw-config";

const REPO = resolve(__dirname, "..", "..");

const base = baseRaw;

const issuesOf = configIssuesOf;

/** Exactly one issue, at `path`, whose message matches. */
function refused(raw: unknown, path: string, message: RegExp): void {
  const issues = issuesOf(raw);
  assert.deepEqual(
    issues.map((i) => i.path),
    [path],
    `issues: ${issues.map((i) => `${i.path}: ${i.message}`).join(" | ")}`,
  );
  assert.match((issues[0] as ConfigIssue).message, message);
  assert.doesNotMatch((issues[0] as ConfigIssue).message, /\n/);
}

function edit(fn: (raw: Raw) => void): Raw {
  const raw = base();
  fn(raw);
  return raw;
}

test("a valid config gives a spec with defaults filled in, in declaration order", () => {
  const spec = parseMeshConfig(base());
  assert.equal(spec.listenPort, 51820);
  assert.equal(spec.persistentKeepalive, 25);
  assert.equal(spec.mtu, "auto");
  assert.equal(spec.keyEpoch, 1);
  assert.equal(spec.presharedKeys, false);
  assert.deepEqual(spec.adminCidrs, []);
  assert.deepEqual(spec.nodes.map((n) => n.name), ["ireland", "hkg", "nrt"]);
  const hkg = spec.nodes.find((n) => n.name === "hkg");
  assert.deepEqual(hkg?.gcp, { project: "edgeproxy-prod", zone: "asia-east2-a", region: "asia-east2" });
  assert.deepEqual(spec.regions.find((r) => r.name === "apac"), { name: "apac", subnet: "10.50.4.0/24", area: "apac" });
});

test("a region without an area is its own area", () => {
  const spec = parseMeshConfig(edit((r) => delete r.regions.central?.area));
  assert.equal(spec.regions.find((r) => r.name === "central")?.area, "central");
});

test("links: a name or { peer, weight }", () => {
  const spec = parseMeshConfig(edit((r) => ((r.nodes.nrt as Record<string, unknown>).links = ["ireland", { peer: "hkg", weight: 49 }])));
  assert.deepEqual(spec.nodes.find((n) => n.name === "nrt")?.links, [{ peer: "ireland" }, { peer: "hkg", weight: 49 }]);
});

test("defaults fill placement fields a node leaves out; a node's own value wins", () => {
  const spec = parseMeshConfig(
    edit((r) => {
      r.defaults = { gcp: { project: "shared-proj", machineType: "e2-small" }, aws: { instanceType: "t3.small" } };
      delete (r.nodes.hkg?.gcp as Record<string, unknown>).project;
      (r.nodes.ireland?.aws as Record<string, unknown>).instanceType = "t3.micro";
    }),
  );
  assert.deepEqual(spec.nodes.find((n) => n.name === "hkg")?.gcp, { zone: "asia-east2-a", machineType: "e2-small", project: "shared-proj", region: "asia-east2" });
  assert.equal(spec.nodes.find((n) => n.name === "ireland")?.aws?.instanceType, "t3.micro");
});

test("unknown keys, with the key that was probably meant", () => {
  refused(edit((r) => (r.nodes.hkg = { ...r.nodes.hkg, adress: "x" })), "nodes.hkg.adress", /unknown key; did you mean address\?/);
  refused(edit((r) => (r.topolgy = "full")), "topolgy", /did you mean topology\?/);
  refused(edit((r) => ((r.nodes.ireland?.aws as Record<string, unknown>).zone = "a")), "nodes.ireland.aws.zone", /unknown key; known keys here: region, instanceType, ami, vpcId, subnetId/);
  refused(edit((r) => (r.regions.apac = { ...r.regions.apac, cidr: "10.50.4.0/24" })), "regions.apac.cidr", /unknown key/);
});

test("malformed CIDRs and addresses", () => {
  refused(edit((r) => (r.overlay = "10.50.0.0/33")), "overlay", /is not an IPv4 CIDR; write the overlay like 10\.50\.0\.0\/16/);
  refused(edit((r) => (r.overlay = "10.50.0.1/16")), "overlay", /host bits set; the network is 10\.50\.0\.0\/16/);
  refused(edit((r) => (r.regions.apac = { subnet: "10.50.4.0", area: "apac" })), "regions.apac.subnet", /no prefix length; write a region subnet as a CIDR such as 10\.50\.4\.0\/24/);
  refused(edit((r) => (r.nodes.hkg = { ...r.nodes.hkg, address: "10.50.5.300" })), "nodes.hkg.address", /^"10\.50\.5\.300" is not an IPv4 address/);
  refused(edit((r) => (r.nodes.hkg = { ...r.nodes.hkg, address: "10.50.5.1/24" })), "nodes.hkg.address", /without a prefix length \(10\.50\.5\.1\); it takes its region's/);
  refused(edit((r) => (r.adminCidrs = ["203.0.113.0/33"])), "adminCidrs[0]", /is not an IPv4 CIDR/);
});

test("addresses outside the overlay or their region, or a region's network address", () => {
  refused(edit((r) => (r.nodes.hkg = { ...r.nodes.hkg, address: "10.50.9.1" })), "nodes.hkg.address", /^10\.50\.9\.1 is outside region apac-pop \(10\.50\.5\.0\/24\)$/);
  refused(edit((r) => (r.nodes.hkg = { ...r.nodes.hkg, address: "10.60.5.1" })), "nodes.hkg.address", /10\.60\.5\.1 is outside the overlay 10\.50\.0\.0\/16/);
  refused(edit((r) => (r.nodes.hkg = { ...r.nodes.hkg, address: "10.50.5.0" })), "nodes.hkg.address", /network address of region apac-pop/);
  refused(edit((r) => (r.regions.apac = { subnet: "10.60.4.0/24" })), "regions.apac.subnet", /outside the overlay 10\.50\.0\.0\/16/);
});

test("duplicate addresses name both nodes", () => {
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, region: "apac-pop", address: "10.50.5.1" })), "nodes.nrt.address", /10\.50\.5\.1 is also nodes\.hkg\.address/);
});

test("overlapping region subnets", () => {
  refused(edit((r) => (r.regions.apac = { subnet: "10.50.4.0/23", area: "apac" })), "regions.apac-pop.subnet", /overlaps regions\.apac\.subnet \(10\.50\.4\.0\/23\)/);
});

test("a missing hub, or a hub that is not role hub, or two hubs", () => {
  refused(edit((r) => delete r.hub), "hub", /is required: the name of the node whose role is hub/);
  refused(edit((r) => (r.hub = "dublin")), "hub", /no node named "dublin"; name the node whose role is hub \(nodes: ireland, hkg, nrt\)/);
  refused(edit((r) => (r.hub = "hkg")), "hub", /hkg has role pop; set nodes\.hkg\.role: hub/);
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, role: "hub" })), "nodes.nrt.role", /the mesh has one hub, ireland; make nrt a pop or backend/);
});

test("references to unknown regions or nodes", () => {
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, region: "japan" })), "nodes.nrt.region", /unknown region "japan"; regions: central, apac, apac-pop/);
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, links: ["sin"] })), "nodes.nrt.links[0]", /unknown node "sin"; nodes: ireland, hkg, nrt/);
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, links: ["nrt"] })), "nodes.nrt.links[0]", /cannot link to itself/);
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, links: [{ peer: "hkg", weight: 0 }] })), "nodes.nrt.links[0].weight", /must be at least 0.001 \(the link's round trip in ms\)/);
});

test("ports, MTU and keepalive out of range", () => {
  refused(edit((r) => (r.listenPort = 70000)), "listenPort", /must be at most 65535/);
  refused(edit((r) => (r.listenPort = 0)), "listenPort", /must be at least 1/);
  refused(edit((r) => (r.listenPort = "51820")), "listenPort", /must be a whole number from 1 to 65535 \(a UDP port\), not "51820"/);
  refused(edit((r) => (r.mtu = 1000)), "mtu", /must be at least 1280/);
  refused(edit((r) => (r.mtu = "big")), "mtu", /must be auto or a whole number/);
  refused(edit((r) => (r.persistentKeepalive = -1)), "persistentKeepalive", /must be at least 0/);
  refused(edit((r) => (r.persistentKeepalive = 1.5)), "persistentKeepalive", /whole number/);
  refused(edit((r) => (r.nodes.hkg = { ...r.nodes.hkg, underlayMtu: 100 })), "nodes.hkg.underlayMtu", /must be at least 576/);
});

test("an explicit MTU above what the links carry is refused by the planner with the bound", () => {
  const spec = parseMeshConfig(edit((r) => (r.mtu = 1420)));
  assert.throws(
    () => planMesh(spec),
    (err: unknown) =>
      err instanceof MeshConfigError &&
      err.issues.length === 1 &&
      err.issues[0]?.path === "mtu" &&
      /1420 exceeds what the links carry: at most 1380 \(hkg's gcp underlay MTU 1460 minus 80\)/.test(err.issues[0].message),
  );
});

test("an unknown topology, role or cloud", () => {
  refused(edit((r) => (r.topology = "star")), "topology", /must be one of hub, regional, full, auto, not "star"/);
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, role: "edge" })), "nodes.nrt.role", /must be one of hub, pop, backend/);
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, cloud: "oracle" })), "nodes.nrt.cloud", /must be one of aws, gcp, azure, external/);
});

test("a node missing its cloud's placement fields, or carrying another cloud's", () => {
  refused(edit((r) => delete r.nodes.ireland?.aws), "nodes.ireland.aws", /is required for cloud aws: add aws: \{ region: eu-west-1 \}/);
  refused(edit((r) => (r.nodes.ireland = { ...r.nodes.ireland, aws: {} })), "nodes.ireland.aws.region", /is required: an AWS region code/);
  refused(edit((r) => delete (r.nodes.hkg?.gcp as Record<string, unknown>).project), "nodes.hkg.gcp.project", /set it here or once in defaults\.gcp\.project/);
  refused(edit((r) => delete (r.nodes.hkg?.gcp as Record<string, unknown>).zone), "nodes.hkg.gcp.zone", /is required: a GCP zone/);
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, azure: {} })), "nodes.nrt.azure.location", /is required/);
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, aws: { region: "eu-west-1" } })), "nodes.nrt.aws", /the node's cloud is azure; remove the aws block or set cloud: aws/);
});

test("placement values in the shape each cloud takes", () => {
  refused(edit((r) => (r.nodes.ireland = { ...r.nodes.ireland, aws: { region: "Ireland" } })), "nodes.ireland.aws.region", /not an AWS region code/);
  refused(edit((r) => (r.nodes.hkg = { ...r.nodes.hkg, gcp: { project: "edgeproxy-prod", zone: "asia-east2" } })), "nodes.hkg.gcp.zone", /not a GCP zone; write it like asia-east2-a/);
  refused(edit((r) => (r.nodes.hkg = { ...r.nodes.hkg, gcp: { project: "edgeproxy-prod", zone: "asia-east2-a", region: "asia-east1" } })), "nodes.hkg.gcp.region", /does not match zone asia-east2-a/);
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, azure: { location: "Japan East" } })), "nodes.nrt.azure.location", /write it like japaneast/);
});

test("external nodes: endpoints are hosts, POPs and the hub need one, NAT needs keepalive", () => {
  const natted = edit((r) => (r.nodes.nrt = { role: "backend", region: "apac", site: "nrt", address: "10.50.4.1", cloud: "external" }));
  const spec = parseMeshConfig(natted);
  assert.deepEqual(spec.nodes.find((n) => n.name === "nrt")?.external, {});
  refused(edit((r) => (r.nodes.nrt = { ...natted.nodes.nrt, external: { endpoint: "198.51.100.7:51820" } })), "nodes.nrt.external.endpoint", /give the host only \("198\.51\.100\.7"\)/);
  refused(edit((r) => (r.nodes.nrt = { ...natted.nodes.nrt, external: { endpoint: "10.50.4.1" } })), "nodes.nrt.external.endpoint", /inside the overlay/);
  refused(edit((r) => (r.nodes.hkg = { role: "pop", region: "apac-pop", site: "hkg", address: "10.50.5.1", cloud: "external" })), "nodes.hkg.external.endpoint", /a pop is dialled by its backends/);
  refused(edit((r) => (r.nodes.ireland = { role: "hub", region: "central", site: "dub", address: "10.50.0.1", cloud: "external" })), "nodes.ireland.external.endpoint", /the hub must be reachable/);
  refused({ ...natted, persistentKeepalive: 0 }, "persistentKeepalive", /nrt sit behind NAT/);
});

test("with peerStacks, the hub and link peers may live in another stack (checked once the peers are read)", () => {
  const raw = edit((r) => {
    r.peerStacks = ["acme/wg-mesh/eu"];
    delete r.nodes.ireland;
    r.nodes.nrt = { ...r.nodes.nrt, links: ["lhr"] };
  });
  const spec = parseMeshConfig(raw);
  assert.equal(spec.hub, "ireland");
  assert.deepEqual(spec.nodes.find((n) => n.name === "nrt")?.links, [{ peer: "lhr" }]);
  refused(edit((r) => delete r.nodes.ireland), "hub", /no node named "ireland"/);
});

test("admin CIDRs may not open SSH to the world; peer stacks are stack names", () => {
  refused(edit((r) => (r.adminCidrs = ["0.0.0.0/0"])), "adminCidrs[0]", /opens SSH to the whole internet/);
  refused(edit((r) => (r.peerStacks = ["acme/wg-mesh/prod apac"])), "peerStacks[0]", /is not a stack name/);
  refused(edit((r) => (r.peerStacks = ["a/b/c", "a/b/c"])), "peerStacks[1]", /listed twice/);
});

test("names: nodes and regions must be usable in cloud resource names", () => {
  refused(edit((r) => ((r.nodes.Tokyo_1 = { ...r.nodes.nrt, address: "10.50.4.9" }), 0)), "nodes.Tokyo_1", /a node name is 1-24 of a-z, 0-9 and -/);
  refused(edit((r) => (r.nodes.nrt = { ...r.nodes.nrt, site: "N" })), "nodes.nrt.site", /not a location code/);
});

test("every problem of a config is reported at once", () => {
  const raw = edit((r) => {
    r.listenPort = 70000;
    r.nodes.hkg = { ...r.nodes.hkg, address: "10.50.9.1", colour: "red" };
    r.nodes.nrt = { ...r.nodes.nrt, region: "japan" };
    r.regions.apac = { subnet: "10.50.4.0/23" };
  });
  const paths = issuesOf(raw).map((i) => i.path).sort();
  assert.deepEqual(paths, ["listenPort", "nodes.hkg.address", "nodes.hkg.colour", "nodes.nrt.region", "regions.apac-pop.subnet"].sort());
});

test("not a map at all", () => {
  refused("overlay: 10.50.0.0/16", "wg-mesh:mesh", /must be a map/);
  refused(edit((r) => ((r as Record<string, unknown>).nodes = ["ireland"])), "nodes", /must be a map of nodes by name, not a list/);
});

test("the YAML file: syntax errors by line, a missing wg-mesh:mesh, stray wg-mesh keys", () => {
  assert.throws(() => loadStackConfig("config:\n  wg-mesh:mesh: {\n", "Pulumi.bad.yaml"), (err: unknown) => err instanceof MeshConfigError && /^Pulumi\.bad\.yaml:\d+:\d+$/.test(err.issues[0]?.path ?? ""));
  assert.throws(() => loadStackConfig("config:\n  aws:region: eu-west-1\n", "Pulumi.x.yaml"), /config\.wg-mesh:mesh: is missing/);
  assert.throws(() => loadStackConfig("config:\n  wg-mesh:mesh:\n    overlay: a\n  wg-mesh:mseh: {}\n", "Pulumi.x.yaml"), (err: unknown) => err instanceof MeshConfigError && err.issues.some((i) => i.path === "config.wg-mesh:mseh"));
  assert.throws(() => loadStackConfig("config:\n  wg-mesh:mesh:\n    overlay: a\n    overlay: b\n", "Pulumi.x.yaml"), (err: unknown) => err instanceof MeshConfigError && /"overlay" is given a second time in this map; keep one/.test(err.issues[0]?.message ?? ""));
});

test("the repository's stacks load and plan: prod is the seed's 12 nodes, staging spans all three clouds in 100.64.0.0/10", () => {
  const prod = loadStackConfig(readFileSync(join(REPO, "Pulumi.prod.yaml"), "utf8"), "Pulumi.prod.yaml");
  assert.deepEqual(
    prod.nodes.map((n) => `${n.name}=${n.address}`),
    ["ireland=10.50.0.1", "hkg=10.50.5.1", "gru=10.50.1.1", "iad=10.50.2.1", "ord=10.50.2.2", "lax=10.50.2.3", "lhr=10.50.3.1", "fra=10.50.3.2", "cdg=10.50.3.3", "nrt=10.50.4.1", "sin=10.50.4.2", "syd=10.50.4.3"],
  );
  assert.equal(prod.topology, "regional");
  assert.deepEqual(new Set(prod.nodes.map((n) => n.cloud)), new Set(["aws", "gcp", "azure"]));
  const staging = loadStackConfig(readFileSync(join(REPO, "Pulumi.staging.yaml"), "utf8"), "Pulumi.staging.yaml");
  assert.deepEqual(new Set(staging.nodes.map((n) => n.cloud)), new Set(["aws", "gcp", "azure"]));
  assert.equal(staging.nodes.filter((n) => n.role === "hub").length, 1);
  assert.equal(staging.nodes.filter((n) => n.role === "pop").length, 1);
  assert.ok(staging.overlay.startsWith("100.") && Number(staging.overlay.split(".")[1]) >= 64 && Number(staging.overlay.split(".")[1]) < 128);
  for (const spec of [prod, staging]) assert.ok(planMesh(spec).nodes.length === spec.nodes.length);
});
