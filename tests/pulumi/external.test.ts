/**
 * External nodes: no cloud resources, a key of their own, and their config as a secret stack
 * output. A backend behind NAT opens its peers' WireGuard ports to the world; one with a fixed
 * address does not.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { unwrapSecrets } from "../../stacks/synth/mock-cloud";
import { parseWgQuick } from "../../infra/wgquick";
import { publicKeyFromPrivate } from "../../infra/keys";
import { seedSpec } from "../support/seed-spec";
import { isSecretValue, oneCloudSpec, one, publicIps, resourcesOf, runMesh } from "../support/pulumi";

test("an external node gets a component and a key, and nothing in any cloud", async () => {
  const run = await runMesh(oneCloudSpec("gcp"));
  one(run, "wg-mesh:index:Backend", "laptop");
  assert.deepEqual(resourcesOf(run, "laptop").map((r) => r.type), ["random:index/randomBytes:RandomBytes"]);
  const report = (run.outputs.nodes as Record<string, Record<string, unknown>>).laptop;
  assert.equal(report?.cloud, "external");
  for (const absent of ["publicIp", "endpoint", "vaultSecretRef"]) assert.ok(report && !(absent in report), `no ${absent} for a node behind NAT`);
});

test("its wg0.conf is a secret stack output: its own key, the hub dialled at its public IP with keepalive", async () => {
  const run = await runMesh(oneCloudSpec("gcp"));
  assert.ok(isSecretValue(run.outputs.externalConfigs));
  const configs = unwrapSecrets(run.outputs.externalConfigs) as Record<string, string>;
  assert.deepEqual(Object.keys(configs), ["laptop"]);
  const laptop = parseWgQuick(configs.laptop as string, "laptop");
  const nodes = run.outputs.nodes as Record<string, { publicKey: string }>;
  assert.equal(publicKeyFromPrivate(laptop.iface.privateKey as string), nodes.laptop?.publicKey);
  assert.equal(laptop.peers.length, 1);
  assert.equal(laptop.peers[0]?.publicKey, nodes.hub1?.publicKey);
  assert.equal(laptop.peers[0]?.endpoint, `${publicIps(run).hub1}:51820`);
  assert.equal(laptop.peers[0]?.persistentKeepalive, 25, "it dials out through NAT and keeps the mapping open");
});

test("a backend with a fixed endpoint keeps its peers' ports closed to all but its address", async () => {
  const spec = oneCloudSpec("aws");
  const nodes = spec.nodes.map((n) => (n.name === "laptop" ? { ...n, external: { endpoint: "192.0.2.10" } } : n));
  const run = await runMesh({ ...spec, nodes });
  const report = run.outputs.nodes as Record<string, { wireguardFrom: string[]; endpoint: string | null; publicIp: string | null }>;
  assert.ok(report.hub1?.wireguardFrom.includes("192.0.2.10/32"));
  assert.ok(!report.hub1?.wireguardFrom.includes("0.0.0.0/0"));
  assert.deepEqual([report.laptop?.publicIp, report.laptop?.endpoint], ["192.0.2.10", "192.0.2.10:51820"]);
});

test("a peer known only by a DNS name cannot be pinned to an address: the port opens, for that node's peers only", async () => {
  const spec = seedSpec();
  const nodes = [...spec.nodes, { name: "office", role: "backend" as const, region: "europe", site: "lhr", address: "10.50.3.20", cloud: "external" as const, external: { endpoint: "vpn.example.com" }, links: [] }];
  const run = await runMesh({ ...spec, nodes });
  const report = run.outputs.nodes as Record<string, { wireguardFrom: string[] }>;
  assert.deepEqual(report.ireland?.wireguardFrom, ["0.0.0.0/0"], "the hub peers with office");
  assert.ok(!report.gru?.wireguardFrom.includes("0.0.0.0/0"), "gru does not");
});
