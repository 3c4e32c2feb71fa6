/**
 * Adding a peer must change vault secrets and firewall sources, never a VM: user data and every
 * other instance input stay byte-identical, so no VM is replaced or even updated.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { MockRun } from "../../stacks/synth/run";
import type { MeshSpec, NodeSpec } from "../../infra/model";
import { seedSpec } from "../support/seed-spec";
import { expandCloudInit } from "../../infra/render/cloudinit";
import { deliveredConfigs, runMesh, userDataByNode } from "../support/pulumi";

const INSTANCE_TYPES = ["aws:ec2/instance:Instance", "gcp:compute/instance:Instance", "azure:compute/linuxVirtualMachine:LinuxVirtualMachine"];
const WIREGUARD_KEY = /[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=/;

/** A new APAC backend: every node's peers or AllowedIPs may change (hub, HKG POP, and more). */
function withNewPeer(spec: MeshSpec): MeshSpec {
  const kix: NodeSpec = { name: "kix", role: "backend", region: "apac", site: "kix", address: "10.50.4.4", cloud: "aws", aws: { region: "ap-northeast-3" }, links: [] };
  const lab: NodeSpec = { name: "lab", role: "backend", region: "europe", site: "lhr", address: "10.50.3.9", cloud: "external", links: [] };
  return { ...spec, nodes: [...spec.nodes, kix, lab] };
}

function instancesByName(run: MockRun): Map<string, Record<string, unknown>> {
  return new Map(run.resources.filter((r) => INSTANCE_TYPES.includes(r.type)).map((r) => [`${r.type} ${r.name}`, r.inputs]));
}

let runs: Promise<[MockRun, MockRun]> | undefined;
function beforeAndAfter(): Promise<[MockRun, MockRun]> {
  runs ??= (async () => {
    const spec = seedSpec({ adminCidrs: ["203.0.113.0/24"] });
    const before = await runMesh(spec);
    const after = await runMesh(withNewPeer(spec));
    return [before, after];
  })();
  return runs;
}

test("adding peers leaves every existing VM's user data byte-identical", async () => {
  const [before, after] = await beforeAndAfter();
  const a = userDataByNode(before);
  const b = userDataByNode(after);
  assert.equal(Object.keys(a).length, 12);
  for (const [node, text] of Object.entries(a)) assert.equal(b[node], text, `${node}'s user data changed`);
  assert.ok(b.kix, "the new node has user data of its own");
});

test("adding peers leaves every existing instance's inputs identical: no replacement, no update", async () => {
  const [before, after] = await beforeAndAfter();
  const a = instancesByName(before);
  const b = instancesByName(after);
  for (const [name, inputs] of a) assert.deepEqual(b.get(name), inputs, name);
});

test("what does change is in the vaults: the configs of the new peers' neighbours", async () => {
  const [before, after] = await beforeAndAfter();
  const a = deliveredConfigs(before);
  const b = deliveredConfigs(after);
  assert.notEqual(b.ireland, a.ireland, "the hub gains kix and lab as peers");
  assert.match(b.ireland ?? "", /# kix \(backend/);
  assert.match(b.hkg ?? "", /# kix \(backend/, "kix is in the HKG POP's area");
  assert.equal(b.gru, a.gru, "gru's neighbours did not change");
});

test("user data carries no key, no peer and no overlay address, its compressed script read as cloud-init writes it", async () => {
  const [, after] = await beforeAndAfter();
  const keys = after.cloud.keyMaterial();
  for (const [node, raw] of Object.entries(userDataByNode(after))) {
    const text = expandCloudInit(raw);
    assert.ok(!WIREGUARD_KEY.test(text), `${node}: something shaped like a WireGuard key`);
    for (const k of keys) assert.ok(!text.includes(k), `${node}: key material`);
    assert.ok(!/^\s*(PrivateKey|PresharedKey|PublicKey|Endpoint|AllowedIPs|Address)\s*=\s*\S/im.test(text), `${node}: a wg-quick setting`);
    assert.ok(!text.includes("10.50."), `${node}: an overlay address`);
  }
});
