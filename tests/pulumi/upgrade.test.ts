/**
 * What `pulumi up` of this wg-mesh does to stacks already deployed, under the mock runtime in preview
 * mode, the way the engine decides it: every existing resource's new inputs against the ones in its
 * state, the inputs its ignoreChanges names left out. No VM, disk, NIC or identity may be replaced or
 * updated, on any cloud:
 *
 * - from prod as today's code deployed it (tests/data/state/, the snapshot of wg-mesh eccf142, main before node agents: its
 *   36 KB user data, one secret per node): only vault secrets and read grants change, and each node's
 *   agent secret (and its GCP grant) is added;
 * - from prod as this code deploys it, with everything the node scripts decide different (user data,
 *   agent, config entries): as when every script changes in a later release.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { stateKey } from "../../stacks/synth/mock-cloud";
import type { MockRun } from "../../stacks/synth/run";
import type { AgentBundle } from "../../infra/render/agent";
import { unwrapSecrets } from "../../stacks/synth/mock-cloud";
import { AZURE_AGENT_SECRET_NAME } from "../../infra/vault";
import { renderAgentBundle } from "../../infra/render/agent";
import { agentPartCount, agentPartName } from "../../infra/render/agent-parts";
import { smallAgent } from "../support/large-agent";
import { REPO } from "../support/pulumi";
import { runStack, snapshotOf, type StateResource, type StateSnapshot } from "../support/state-snapshot";

const TODAY = JSON.parse(readFileSync(join(REPO, "tests", "data", "state", "prod-eccf14252676.json"), "utf8")) as StateSnapshot;

/** Resource types that are a VM, its disk, its NIC or its identity (in a VM's own inputs where the cloud puts them there). */
const MACHINE_TYPES = [
  "aws:ec2/instance:Instance",
  "aws:iam/role:Role",
  "aws:iam/instanceProfile:InstanceProfile",
  "aws:ec2/eip:Eip",
  "aws:ec2/eipAssociation:EipAssociation",
  "gcp:compute/instance:Instance",
  "gcp:serviceaccount/account:Account",
  "gcp:compute/address:Address",
  "azure:compute/linuxVirtualMachine:LinuxVirtualMachine",
  "azure:network/networkInterface:NetworkInterface",
  "azure:network/publicIp:PublicIp",
  "azure:keyvault/keyVault:KeyVault",
  "azure:keyvault/accessPolicy:AccessPolicy",
];

function containsUnknown(value: unknown): boolean {
  if (pulumi.isUnknown(value)) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}

/** An ignoreChanges path ("userData", 'metadata["user-data"]', "a.b") as property names. */
function pathOf(path: string): string[] {
  return [...path.matchAll(/([^.[\]"]+)|\["([^"]+)"\]/g)].map((m) => (m[2] ?? m[1]) as string);
}

/** Inputs without what ignoreChanges leaves alone. */
function withoutIgnored(inputs: Record<string, unknown>, ignore: readonly string[]): Record<string, unknown> {
  const copy = structuredClone(inputs);
  for (const path of ignore) {
    const parts = pathOf(path);
    let at: Record<string, unknown> | undefined = copy;
    for (const p of parts.slice(0, -1)) at = at?.[p] as Record<string, unknown> | undefined;
    if (at) delete at[parts.at(-1) as string];
  }
  return copy;
}

interface Effect {
  created: string[];
  deleted: string[];
  /** Inputs the preview cannot know yet (they come from a resource to be created). */
  unknown: string[];
  updated: string[];
}

const label = (r: { type: string; name: string }): string => `${r.type.split(":").pop()} ${r.name}`;

/** The engine's view: state against the new program's inputs, each resource's ignoreChanges honoured. */
function effect(state: StateSnapshot, after: MockRun): Effect {
  const old = new Map(state.resources.map((r) => [stateKey(r.type, r.name), r]));
  const now = snapshotOf(after, "after");
  const raw = new Map(after.resources.filter((r) => r.custom).map((r) => [stateKey(r.type, r.name), r]));
  const out: Effect = { created: [], deleted: [], unknown: [], updated: [] };
  for (const r of now.resources) {
    const key = stateKey(r.type, r.name);
    const was = old.get(key);
    if (!was) out.created.push(label(r));
    else if (containsUnknown(raw.get(key)?.inputs)) out.unknown.push(label(r));
    else if (JSON.stringify(withoutIgnored(r.inputs, r.ignoreChanges)) !== JSON.stringify(withoutIgnored(was.inputs, r.ignoreChanges))) out.updated.push(label(r));
  }
  const present = new Set(now.resources.map((r) => stateKey(r.type, r.name)));
  for (const r of state.resources) if (!present.has(stateKey(r.type, r.name))) out.deleted.push(label(r));
  for (const list of Object.values(out)) list.sort();
  return out;
}

async function previewAgainst(state: StateSnapshot, agent?: AgentBundle): Promise<{ effect: Effect; after: MockRun }> {
  const existing = new Set(state.resources.map((r) => stateKey(r.type, r.name)));
  const after = await runStack("prod", { preview: true, existing, ...(agent ? { agent } : {}) });
  return { effect: effect(state, after), after };
}

function nodesOf(state: StateSnapshot, type: string, suffix: RegExp): string[] {
  return state.resources.filter((r) => r.type === type).map((r) => r.name.replace(/^mesh-/, "").replace(suffix, ""));
}

function machines(e: Effect): string[] {
  const kinds = new Set(MACHINE_TYPES.map((t) => t.split(":").pop()));
  return [...e.updated, ...e.unknown, ...e.deleted].filter((l) => kinds.has(l.split(" ")[0]));
}

test("prod as today's wg-mesh deployed it moves to node agents with no VM, disk, NIC or identity replaced or updated: only secrets and read grants change", async () => {
  const { effect: e } = await previewAgainst(TODAY);
  assert.deepEqual(machines(e), [], "a VM, disk, NIC or identity would change");
  assert.deepEqual(e.deleted, []);
  const aws = nodesOf(TODAY, "aws:ec2/instance:Instance", /-vm$/);
  const gcp = nodesOf(TODAY, "gcp:compute/instance:Instance", /-vm$/);
  const azure = nodesOf(TODAY, "azure:compute/linuxVirtualMachine:LinuxVirtualMachine", /-vm$/);
  assert.deepEqual([aws.length, gcp.length, azure.length], [5, 4, 3]);
  // Each node's agent, in as many secrets as its vault needs for this release's agent (infra/render/agent-parts.ts).
  const parts = (cloud: "aws" | "gcp" | "azure"): number[] => Array.from({ length: agentPartCount(cloud, renderAgentBundle().bytes) }, (_, i) => i + 1);
  assert.deepEqual(
    e.created,
    [
      ...aws.flatMap((n) => parts("aws").flatMap((p) => [`Secret ${agentPartName(`mesh-${n}-agent`, p)}`, `SecretVersion ${agentPartName(`mesh-${n}-agent`, p)}`])),
      ...gcp.flatMap((n) =>
        parts("gcp").flatMap((p) => [`Secret ${agentPartName(`mesh-${n}-agent`, p)}`, `SecretIamMember mesh-${n}-read-${agentPartName("agent", p)}`, `SecretVersion ${agentPartName(`mesh-${n}-agent`, p)}`]),
      ),
      ...azure.flatMap((n) => parts("azure").map((p) => `Secret ${agentPartName(`mesh-${n}-agent`, p)}`)),
    ].sort(),
  );
  // Every config entry is rewritten (the payload: today's sync script applies it in place and installs
  // the bootstrap from it); an AWS role's policy names the agent's ARN, unknown until it exists.
  assert.deepEqual(e.unknown, aws.map((n) => `RolePolicy mesh-${n}-read-wg0`).sort());
  assert.deepEqual(e.updated, [...aws.map((n) => `SecretVersion mesh-${n}-wg0`), ...gcp.map((n) => `SecretVersion mesh-${n}-wg0`), ...azure.map((n) => `Secret mesh-${n}-wg0`)].sort());
  // What the VMs ignore does differ: their user data is now the bootstrap (a new VM boots with it).
  const vm = TODAY.resources.find((r) => r.type === "azure:compute/linuxVirtualMachine:LinuxVirtualMachine") as StateResource;
  assert.deepEqual(vm.ignoreChanges, [], "today's program ignored nothing on Azure: a changed script replaced every VM");
});

test("every script changed (bootstrap, agent, config entries): no VM, disk, NIC or identity replaced or updated on any cloud; only the vault's secrets", async () => {
  const deployed = snapshotOf(await runStack("prod"), "this wg-mesh, deployed");
  // The state as an older release of these scripts would have left it: every input a script decides is different.
  const older: StateSnapshot = {
    source: "this wg-mesh with other scripts",
    resources: deployed.resources.map((r) => {
      const inputs = structuredClone(r.inputs);
      // A value as the state keeps it, secret or not, made different.
      const other = (v: unknown, what: string): unknown => (v !== null && typeof v === "object" && "secret" in v ? { secret: `sha256:an-older-${what}` } : `sha256:an-older-${what}`);
      for (const field of ["userData", "customData"]) if (field in inputs) inputs[field] = other(inputs[field], "bootstrap");
      const metadata = inputs.metadata as Record<string, unknown> | undefined;
      if (metadata && "user-data" in metadata) metadata["user-data"] = other(metadata["user-data"], "bootstrap");
      for (const field of ["secretString", "secretData", "value"]) if (field in inputs) inputs[field] = other(inputs[field], "agent-or-entry");
      return { ...r, inputs };
    }),
  };
  const { effect: e } = await previewAgainst(older);
  assert.deepEqual(machines(e), []);
  assert.deepEqual([e.created, e.deleted, e.unknown], [[], [], []]);
  assert.ok(e.updated.length > 0 && e.updated.every((l) => /^(SecretVersion|Secret) mesh-[a-z0-9-]+-(wg0|agent(-\d)?)$/.test(l)), e.updated.join(", "));
  const secrets = (cloud: "aws" | "gcp" | "azure", nodes: number): number => nodes * (1 + agentPartCount(cloud, renderAgentBundle().bytes));
  assert.equal(e.updated.length, secrets("aws", 5) + secrets("gcp", 4) + secrets("azure", 3), "each node's config and each part of its agent");
});

test("a release whose agent outgrows one Azure secret (this one, 0.4.0, over a one-secret agent): each Azure node's agent gains a second part, part 1 keeps its resource and name; no VM, disk, NIC or identity changes", async () => {
  const deployed = snapshotOf(await runStack("prod", { agent: smallAgent("0.3.9") }), "this wg-mesh with an agent of one secret, deployed");
  assert.equal(agentPartCount("azure", renderAgentBundle().bytes), 2, "this release's agent is two secrets on Azure, one on AWS and GCP");
  assert.equal(agentPartCount("aws", renderAgentBundle().bytes) + agentPartCount("gcp", renderAgentBundle().bytes), 2);
  const { effect: e, after } = await previewAgainst(deployed);
  assert.deepEqual(machines(e), []);
  assert.deepEqual(e.deleted, []);
  const azure = nodesOf(deployed, "azure:compute/linuxVirtualMachine:LinuxVirtualMachine", /-vm$/);
  const aws = nodesOf(deployed, "aws:ec2/instance:Instance", /-vm$/);
  const gcp = nodesOf(deployed, "gcp:compute/instance:Instance", /-vm$/);
  assert.equal(azure.length, 3);
  assert.deepEqual(e.created, azure.map((n) => `Secret mesh-${n}-agent-2`).sort(), "only the second parts are new");
  assert.deepEqual(e.unknown, []);
  // Part 1 is updated in place (its value is now the first slice), never replaced: same resource, same name.
  assert.deepEqual(
    e.updated,
    [
      ...aws.flatMap((n) => [`SecretVersion mesh-${n}-agent`, `SecretVersion mesh-${n}-wg0`]),
      ...gcp.flatMap((n) => [`SecretVersion mesh-${n}-agent`, `SecretVersion mesh-${n}-wg0`]),
      ...azure.flatMap((n) => [`Secret mesh-${n}-agent`, `Secret mesh-${n}-wg0`]),
    ].sort(),
  );
  for (const n of azure) {
    const part1 = after.resources.find((r) => r.type === "azure:keyvault/secret:Secret" && r.name === `mesh-${n}-agent`);
    const was = deployed.resources.find((r) => r.type === "azure:keyvault/secret:Secret" && r.name === `mesh-${n}-agent`);
    assert.deepEqual([unwrapSecrets(was?.inputs.name), unwrapSecrets(part1?.inputs.name)], [AZURE_AGENT_SECRET_NAME, AZURE_AGENT_SECRET_NAME], "part 1 keeps its name: no replacement");
  }
});
