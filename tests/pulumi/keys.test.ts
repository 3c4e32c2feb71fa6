/** Keys as Pulumi resources: RandomBytes per node, public keys derived and published, keyEpoch rotation, PSKs. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseWgQuick } from "../../infra/wgquick";
import { privateKeyFromBytes, publicKeyFromPrivate } from "../../infra/keys";
import { seedSpec } from "../support/seed-spec";
import { deliveredConfigs, input, isSecretValue, MESH, nodeOf, ofType, oneCloudSpec, runMesh } from "../support/pulumi";

/** How the Mesh names its preshared keys: one RandomBytes per link under its PresharedKeys component. */
const PSK = `${MESH}-preshared-keys-`;

test("each node's private key is 32 RandomBytes (never RandomString), keyed to keyEpoch; the public key is derived and published unsecret", async () => {
  const run = await runMesh(seedSpec());
  // RandomString's result is its id, kept in state in the clear: only the Key Vault names' random part is one.
  const strings = ofType(run, "random:index/randomString:RandomString");
  assert.deepEqual(strings.map((r) => nodeOf(r.name, /-kv-name$/)).sort(), ["lhr", "ord", "syd"]);
  for (const r of strings) assert.deepEqual([input(r, "length"), input(r, "upper"), input(r, "special")], [8, false, false]);
  const bytes = ofType(run, "random:index/randomBytes:RandomBytes");
  assert.equal(bytes.length, 12);
  const nodes = run.outputs.nodes as Record<string, { publicKey: unknown }>;
  const configs = deliveredConfigs(run);
  for (const r of bytes) {
    const node = nodeOf(r.name, /-key$/);
    assert.equal(input(r, "length"), 32);
    assert.deepEqual(input(r, "keepers"), { keyEpoch: "1" });
    const privateKey = privateKeyFromBytes(Buffer.from(run.cloud.randomBytes.get(r.name) as string, "base64"));
    const published = nodes[node]?.publicKey;
    assert.ok(!isSecretValue(published), `${node}: the public key is published in the clear`);
    assert.equal(published, publicKeyFromPrivate(privateKey));
    assert.equal(parseWgQuick(configs[node] as string, node).iface.privateKey, privateKey, `${node}'s config carries its own key`);
  }
});

test("bumping keyEpoch rotates every key: new keepers (so Pulumi replaces each RandomBytes) and new public keys", async () => {
  const first = await runMesh(seedSpec());
  const second = await runMesh(seedSpec({ keyEpoch: 2 }));
  const keysOf = (run: typeof first): Record<string, string> =>
    Object.fromEntries(Object.entries(run.outputs.nodes as Record<string, { publicKey: string }>).map(([n, r]) => [n, r.publicKey]));
  const before = keysOf(first);
  const after = keysOf(second);
  for (const r of ofType(second, "random:index/randomBytes:RandomBytes")) assert.deepEqual(input(r, "keepers"), { keyEpoch: "2" });
  for (const node of Object.keys(before)) assert.notEqual(after[node], before[node], node);
  // And the rotated keys reach every peer's config.
  const configs = deliveredConfigs(second);
  for (const [node, text] of Object.entries(configs)) {
    for (const peer of parseWgQuick(text, node).peers) assert.ok(Object.values(after).includes(peer.publicKey), `${node} still names an old key`);
  }
});

test("presharedKeys: one secret RandomBytes per link, the same PresharedKey at both ends of each tunnel", async () => {
  const run = await runMesh(oneCloudSpec("aws", { presharedKeys: true }));
  const psks = ofType(run, "random:index/randomBytes:RandomBytes").filter((r) => r.name.startsWith(PSK));
  assert.deepEqual(psks.map((r) => r.name.slice(PSK.length)).sort(), ["app1--hub1", "app1--pop1", "hub1--laptop", "hub1--pop1"]);
  const configs = deliveredConfigs(run);
  const parsed = Object.fromEntries(Object.entries(configs).map(([n, t]) => [n, parseWgQuick(t, n)]));
  const keyOf = Object.fromEntries(Object.entries(parsed).map(([n, c]) => [n, publicKeyFromPrivate(c.iface.privateKey as string)]));
  const nameOf = Object.fromEntries(Object.entries(keyOf).map(([n, k]) => [k, n]));
  for (const [node, config] of Object.entries(parsed)) {
    for (const peer of config.peers) {
      const other = nameOf[peer.publicKey] as string;
      const id = node < other ? `${node}--${other}` : `${other}--${node}`;
      assert.equal(peer.presharedKey, run.cloud.randomBytes.get(`${PSK}${id}`), `${node} -> ${other}`);
      const back = parsed[other]?.peers.find((p) => p.publicKey === keyOf[node]);
      assert.equal(back?.presharedKey, peer.presharedKey, `${other} holds the same key for ${node}`);
    }
  }
  const off = await runMesh(oneCloudSpec("aws"));
  assert.equal(ofType(off, "random:index/randomBytes:RandomBytes").filter((r) => r.name.startsWith(PSK)).length, 0);
  for (const text of Object.values(deliveredConfigs(off))) assert.ok(!text.includes("PresharedKey"));
});
