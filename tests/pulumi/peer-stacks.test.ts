/**
 * One mesh split across two stacks, wired through mocked StackReferences and bootstrapped as
 * the README says: eu (with the hub) first, then apac referencing eu, then eu referencing apac.
 * Afterwards each stack's configs peer with the other's nodes, and the union of both stacks'
 * configs is fully reachable in the simulator.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { unwrapSecrets } from "../../stacks/synth/mock-cloud";
import type { MockRun } from "../../stacks/synth/run";
import type { MeshExport } from "../../infra/mesh-export";
import type { MeshSpec } from "../../infra/model";
import { simulate } from "../../infra/simulate";
import { parseWgQuick } from "../../infra/wgquick";
import { seedSpec } from "../support/seed-spec";
import { deliveredConfigs, input, one, runMesh } from "../support/pulumi";

const EU = "acme/wg-mesh/eu";
const APAC = "acme/wg-mesh/apac";
const APAC_NODES = new Set(["hkg", "nrt", "sin", "syd"]);
const APAC_REGIONS = new Set(["apac", "apac-pop"]);

function split(part: "eu" | "apac", peerStacks: string[]): MeshSpec {
  const seed = seedSpec();
  const mine = (name: string): boolean => APAC_NODES.has(name) === (part === "apac");
  const regions = seed.regions.filter((r) => APAC_REGIONS.has(r.name) === (part === "apac"));
  return { ...seed, peerStacks, regions, nodes: seed.nodes.filter((n) => mine(n.name)) };
}

function meshOf(run: MockRun): MeshExport {
  return unwrapSecrets(run.outputs.mesh) as MeshExport;
}

interface Bootstrap {
  eu1: MockRun;
  apac: MockRun;
  eu2: MockRun;
}

let bootstrap: Promise<Bootstrap> | undefined;
function twoUpdates(): Promise<Bootstrap> {
  bootstrap ??= (async () => {
    const eu1 = await runMesh(split("eu", []), { stack: "eu" });
    const apac = await runMesh(split("apac", [EU]), { stack: "apac", stackOutputs: { [EU]: { mesh: meshOf(eu1) } } });
    const eu2 = await runMesh(split("eu", [APAC]), { stack: "eu", stackOutputs: { [APAC]: { mesh: meshOf(apac) } } });
    return { eu1, apac, eu2 };
  })();
  return bootstrap;
}

test("the mesh output is public data only: nodes, regions, overlay, port, hub, topology, links", async () => {
  const { eu1 } = await twoUpdates();
  const mesh = meshOf(eu1);
  assert.deepEqual(Object.keys(mesh).sort(), ["hub", "links", "listenPort", "nodes", "overlay", "regions", "topology"]);
  assert.deepEqual(Object.keys(mesh.nodes[0] ?? {}).sort(), ["address", "endpoint", "name", "publicKey", "region", "role", "site", "transit", "underlayMtu"]);
  assert.deepEqual(mesh.nodes.map((n) => n.name), ["ireland", "gru", "iad", "ord", "lax", "lhr", "fra", "cdg"]);
  assert.deepEqual(mesh.regions.map((r) => r.name), ["central", "south-america", "north-america", "europe"]);
});

test("apac's configs peer with eu's nodes: eu's published keys, dialled at eu's public IPs", async () => {
  const { eu1, apac } = await twoUpdates();
  const eu = new Map(meshOf(eu1).nodes.map((n) => [n.name, n]));
  const configs = deliveredConfigs(apac);
  assert.deepEqual(Object.keys(configs).sort(), ["hkg", "nrt", "sin", "syd"]);
  const hub = eu.get("ireland");
  for (const [node, text] of Object.entries(configs)) {
    const toHub = parseWgQuick(text, node).peers.find((p) => p.publicKey === hub?.publicKey);
    assert.ok(toHub, `${node} peers with the hub in the other stack`);
    assert.equal(toHub.endpoint, `${hub?.endpoint}:51820`);
  }
  assert.ok(apac.warnings.some((w) => w.startsWith(`peerStacks[0] (${EU}): plans no links to this stack's nodes yet`)), apac.warnings.join("\n"));
});

test("after eu's second update, eu's configs peer with apac's nodes, and eu's own keys did not change", async () => {
  const { eu1, apac, eu2 } = await twoUpdates();
  const apacNodes = new Map(meshOf(apac).nodes.map((n) => [n.name, n]));
  const ireland = parseWgQuick(deliveredConfigs(eu2).ireland as string, "ireland");
  for (const name of APAC_NODES) {
    const n = apacNodes.get(name);
    const peer = ireland.peers.find((p) => p.publicKey === n?.publicKey);
    assert.ok(peer, `ireland peers with ${name}`);
    assert.equal(peer.endpoint, `${n?.endpoint}:51820`);
  }
  assert.deepEqual(meshOf(eu2).nodes.map((n) => n.publicKey), meshOf(eu1).nodes.map((n) => n.publicKey), "apac's configs stay valid");
  assert.deepEqual(eu2.warnings, [], "both stacks now plan the same cross-stack links");

  const sg = input<{ protocol: string; cidrBlocks: string[] }[]>(one(eu2, "aws:ec2/securityGroup:SecurityGroup", "ireland-sg"), "ingress").find((r) => r.protocol === "udp");
  for (const name of APAC_NODES) assert.ok(sg?.cidrBlocks.includes(`${apacNodes.get(name)?.endpoint}/32`), `the hub admits ${name}`);
});

test("both stacks' configs together: every ordered pair of the 12 nodes is reachable", async () => {
  const { apac, eu2 } = await twoUpdates();
  const texts = { ...deliveredConfigs(eu2), ...deliveredConfigs(apac) };
  assert.equal(Object.keys(texts).length, 12);
  const report = simulate(Object.fromEntries(Object.entries(texts).map(([n, t]) => [n, parseWgQuick(t, n)])));
  assert.equal(report.reachable, report.total, report.pairs.filter((p) => !p.reachable).map((p) => `${p.from}->${p.to}: ${p.failure?.reason}`).join("\n"));
  assert.equal(report.total, 132);
});

test("a referenced stack without a mesh output yet is skipped with a warning; this stack's own nodes still deploy", async () => {
  const run = await runMesh(split("eu", [APAC]), { stack: "eu", stackOutputs: { [APAC]: {} } });
  assert.deepEqual(run.warnings, [`peerStacks[0] (${APAC}): has no mesh output yet, so its nodes are left out of this update; run pulumi up in ${APAC}, then here again`]);
  assert.equal(Object.keys(deliveredConfigs(run)).length, 8);
});

test("a stack that does not exist fails the update, as a StackReference does", async () => {
  await assert.rejects(runMesh(split("eu", [APAC]), { stack: "eu" }), /unknown stack "acme\/wg-mesh\/apac"/);
});

test("imported nodes are checked like local ones: an address clash is named by peer stack and path", async () => {
  const { apac } = await twoUpdates();
  const clashing = meshOf(apac);
  const hkg = clashing.nodes.find((n) => n.name === "hkg");
  if (hkg) hkg.address = "10.50.5.1";
  const spec = split("eu", [APAC]);
  spec.regions.push({ name: "apac-pop", subnet: "10.50.5.0/24", area: "apac" });
  spec.nodes.push({ name: "x", role: "backend", region: "apac-pop", site: "hkg", address: "10.50.5.1", cloud: "external", external: { endpoint: "192.0.2.1" }, links: [] });
  await assert.rejects(
    runMesh(spec, { stack: "eu", stackOutputs: { [APAC]: { mesh: clashing } } }),
    (err: Error) => {
      assert.ok(pulumi.RunError.isInstance(err), "a RunError: Pulumi prints its message alone");
      assert.ok(err.message.split("\n").includes(`peerStacks[0] (${APAC}): node hkg's address 10.50.5.1 is also nodes.x.address here`), err.message);
      return true;
    },
  );
});
