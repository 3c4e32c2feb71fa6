/**
 * What `pulumi preview` shows for a change of prod, under the mock runtime in preview mode: the stack as
 * deployed (every resource of the current Pulumi.prod.yaml exists, its outputs known), then the changed
 * declaration previewed against it (resources not in the stack are to be created, so what the cloud
 * assigns them, keys, IPs and ids, is unknown). Each test names exactly the resources whose inputs
 * become unknown or change: a reviewer reads the real effect of the change, nothing more.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { stateKey, unwrapSecrets } from "../../stacks/synth/mock-cloud";
import { freshRequire, runUnderMocks, type MockRun, type RecordedResource } from "../../stacks/synth/run";
import { stackConfig } from "../../workspace/project";
import { containsUnknown, PROJECT, REPO } from "../support/pulumi";

type Declaration = { nodes: Record<string, Record<string, unknown>> } & Record<string, unknown>;

const PROD = stackConfig(join(REPO, "Pulumi.prod.yaml"));
const PROD_MESH = parse(PROD.config["wg-mesh:mesh"] as string) as Declaration;

function run(mesh: Declaration, existing?: ReadonlySet<string>): Promise<MockRun> {
  return runUnderMocks({
    project: PROJECT,
    stack: "prod",
    config: { ...PROD.config, "wg-mesh:mesh": JSON.stringify(mesh) },
    secretKeys: PROD.secretKeys,
    program: () => freshRequire(join(REPO, "stacks", "index.ts")),
    ...(existing ? { preview: true, existing } : {}),
  });
}

let deployed: Promise<MockRun> | undefined;
function prod(): Promise<MockRun> {
  deployed ??= run(PROD_MESH);
  return deployed;
}

interface Effect {
  created: string[];
  deleted: string[];
  /** Existing resources with an input the preview cannot know yet (it comes from a new resource). */
  unknown: string[];
  /** Existing resources whose known inputs differ. */
  changed: string[];
}

const label = (r: RecordedResource): string => `${r.type.split(":").pop()} ${r.name}`;

function effect(before: MockRun, after: MockRun): Effect {
  const old = new Map(before.resources.map((r) => [stateKey(r.type, r.name), r]));
  const now = new Set(after.resources.map((r) => stateKey(r.type, r.name)));
  const out: Effect = { created: [], deleted: [], unknown: [], changed: [] };
  for (const r of after.resources) {
    if (!r.custom) continue;
    const was = old.get(stateKey(r.type, r.name));
    if (!was) out.created.push(label(r));
    else if (containsUnknown(r.inputs)) out.unknown.push(label(r));
    else if (JSON.stringify(unwrapSecrets(r.inputs)) !== JSON.stringify(unwrapSecrets(was.inputs))) out.changed.push(label(r));
  }
  for (const r of before.resources) if (r.custom && !now.has(stateKey(r.type, r.name))) out.deleted.push(label(r));
  for (const list of Object.values(out)) list.sort();
  return out;
}

async function preview(mesh: Declaration): Promise<Effect> {
  const before = await prod();
  const existing = new Set(before.resources.map((r) => stateKey(r.type, r.name)));
  return effect(before, await run(mesh, existing));
}

function withNode(name: string, node: Record<string, unknown>): Declaration {
  return { ...PROD_MESH, nodes: { ...PROD_MESH.nodes, [name]: node } };
}

/** Where a node's vault secret and WireGuard firewall live, per cloud: what a mesh change may touch. */
const TOUCHED: Record<string, (node: string) => string[]> = {
  aws: (n) => [`SecretVersion mesh-${n}-wg0`, `SecurityGroup mesh-${n}-sg`],
  gcp: (n) => [`Firewall mesh-${n}-wireguard`, `SecretVersion mesh-${n}-wg0`],
  azure: (n) => [`NetworkSecurityGroup mesh-${n}-nsg`, `Secret mesh-${n}-wg0`],
};

function touched(nodes: readonly string[]): string[] {
  return nodes.flatMap((n) => TOUCHED[String(PROD_MESH.nodes[n]?.cloud)]?.(n) ?? []).sort();
}

test("the deployed prod stack, previewed unchanged, shows no change at all", async () => {
  const e = await preview(PROD_MESH);
  assert.deepEqual(e, { created: [], deleted: [], unknown: [], changed: [] });
});

test("adding a backend (waw on AWS, in Europe): its own resources, and the hub's secret and security group; nothing else", async () => {
  const e = await preview(withNode("waw", { role: "backend", region: "europe", site: "waw", address: "10.50.3.4", cloud: "aws", aws: { region: "eu-central-1" } }));
  assert.ok(e.created.includes("Instance mesh-waw-vm") && e.created.includes("aws mesh-aws-eu-central-1"), e.created.join(", "));
  assert.ok(e.created.every((r) => r.includes("mesh-waw") || r === "aws mesh-aws-eu-central-1"), e.created.join(", "));
  assert.deepEqual(e.deleted, []);
  // The hub gains a peer whose key and IP the preview cannot know: its secret and firewall are unknown.
  assert.deepEqual(e.unknown, touched(["ireland"]));
  assert.deepEqual(e.changed, []);
});

test("adding a POP (mia, Americas): the hub and the Americas backends it links to, nothing in Europe or APAC", async () => {
  const e = await preview(withNode("mia", { role: "pop", region: "south-america", site: "mia", address: "10.50.1.9", cloud: "gcp", gcp: { zone: "us-east1-b" } }));
  assert.ok(e.created.includes("Instance mesh-mia-vm"), e.created.join(", "));
  assert.ok(e.created.every((r) => r.includes("mesh-mia")), e.created.join(", "));
  assert.deepEqual(e.deleted, []);
  assert.deepEqual(e.unknown, touched(["ireland", "gru", "iad", "ord", "lax"]));
  assert.deepEqual(e.changed, []);
});

test("removing a node (fra): its resources go, the hub's secret and firewall change; every other node's inputs stay", async () => {
  const { fra: _gone, ...nodes } = PROD_MESH.nodes;
  const e = await preview({ ...PROD_MESH, nodes });
  assert.ok(e.deleted.length > 5 && e.deleted.every((r) => r.includes("mesh-fra")), e.deleted.join(", "));
  assert.deepEqual(e.created, []);
  assert.deepEqual(e.unknown, []);
  assert.deepEqual(e.changed, touched(["ireland"]));
});
