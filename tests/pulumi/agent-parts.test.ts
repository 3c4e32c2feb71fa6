/**
 * The node agent in parts on every cloud, under Pulumi's mocks: an agent larger than a vault's
 * per-secret limit (infra/render/agent-parts.ts) is written as one secret per part beside the config,
 * each with its version, its GCP binding and its ARN in the AWS read policy; part 1's resources are
 * those of a one-part agent (named as ever), and the only children added are the other parts'. The
 * whole policy pack finds nothing to refuse.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { MockRun } from "../../stacks/synth/run";
import { SIZE_LIMITS } from "../../infra/limits";
import { AGENT_MAX_PARTS, agentDelivery, agentPartName } from "../../infra/render/agent-parts";
import { parsePayload } from "../../infra/render/payload";
import { AZURE_AGENT_SECRET_NAME, awsAgentSecretName, gcpAgentSecretId } from "../../infra/vault";
import { policies } from "../../policy/policies";
import { policyConfigFor } from "../../policy/stack-config";
import { fromRecorded, runPolicies } from "../support/policy-harness";
import { input, one, oneCloudSpec, resourcesOf, runMesh, PROJECT } from "../support/pulumi";
import { largeAgent, smallAgent } from "../support/large-agent";

const NODE = "hub1";
/** Two parts on Azure (over 25,000 bytes); one on AWS and GCP, whose secrets take 64 KB. */
const LARGE = largeAgent("0.99.0", 30_000);
/** More than three Azure secrets (four parts there) and more than one of AWS or GCP (two there). */
const LARGER = largeAgent("0.99.1", 3 * SIZE_LIMITS.azureKeyVaultSecret.bytes + 1_000);

function children(run: MockRun): string[] {
  return resourcesOf(run, NODE)
    .map((r) => `${r.type} ${r.name}`)
    .sort();
}

async function policyViolations(run: MockRun, cloud: "aws" | "gcp" | "azure"): Promise<string[]> {
  const spec = oneCloudSpec(cloud);
  return (await runPolicies(policies, fromRecorded(run.resources), policyConfigFor(spec))).map((v) => `${v.policy} ${v.resource}: ${v.message}`);
}

test("AWS: an agent over 64 KB is two secrets and two versions, both ARNs in the node's one read policy; part 1 as a one-part agent has it", async () => {
  const spec = oneCloudSpec("aws");
  const one1 = await runMesh(spec, { agent: LARGE });
  const two = await runMesh(spec, { agent: LARGER });
  assert.equal(agentDelivery(LARGE, "aws").ref.parts, 1);
  assert.equal(agentDelivery(LARGER, "aws").ref.parts, 2);
  const added = children(two).filter((c) => !children(one1).includes(c));
  assert.deepEqual(added, ["aws:secretsmanager/secret:Secret mesh-hub1-agent-2", "aws:secretsmanager/secretVersion:SecretVersion mesh-hub1-agent-2"]);
  assert.deepEqual(children(one1).filter((c) => !children(two).includes(c)), [], "nothing of a one-part agent goes");

  const naming = { project: PROJECT, stack: "test", node: NODE };
  const parts = agentDelivery(LARGER, "aws").values;
  const secrets = [1, 2].map((part) => one(two, "aws:secretsmanager/secret:Secret", agentPartName(`${NODE}-agent`, part)));
  assert.deepEqual(secrets.map((s) => input(s, "name")), [awsAgentSecretName(naming), `${awsAgentSecretName(naming)}-2`]);
  assert.ok(secrets.every((s) => s.deleteBeforeReplace === true));
  const versions = [1, 2].map((part) => one(two, "aws:secretsmanager/secretVersion:SecretVersion", agentPartName(`${NODE}-agent`, part)));
  assert.deepEqual(versions.map((v) => input(v, "secretString")), parts);
  assert.equal(parts.join(""), LARGER.value);
  const config = one(two, "aws:secretsmanager/secretVersion:SecretVersion", `${NODE}-wg0`);
  assert.deepEqual(parsePayload(input<string>(config, "secretString")).agent, { version: "0.99.1", sha256: LARGER.sha256, bytes: LARGER.bytes, parts: 2 });
  for (const v of versions) assert.ok(config.dependencies.includes(v.urn), "the config waits for every part of the agent it names");

  const doc = JSON.parse(input<string>(one(two, "aws:iam/rolePolicy:RolePolicy", `${NODE}-read-wg0`), "policy")) as { Statement: { Resource: string[] }[] };
  const resources = doc.Statement[0]?.Resource ?? [];
  assert.equal(resources.length, 3, "the config and both parts");
  assert.ok(resources[1]?.includes(`:secret:${awsAgentSecretName(naming)}-`) && resources[2]?.includes(`:secret:${awsAgentSecretName(naming)}-2-`), resources.join(" "));
  assert.deepEqual(await policyViolations(two, "aws"), []);
});

test("GCP: an agent over 64 KB is two secrets, two versions and two bindings for the node's own service account", async () => {
  const spec = oneCloudSpec("gcp");
  const one1 = await runMesh(spec, { agent: LARGE });
  const two = await runMesh(spec, { agent: LARGER });
  const added = children(two).filter((c) => !children(one1).includes(c));
  assert.deepEqual(added, [
    "gcp:secretmanager/secret:Secret mesh-hub1-agent-2",
    "gcp:secretmanager/secretIamMember:SecretIamMember mesh-hub1-read-agent-2",
    "gcp:secretmanager/secretVersion:SecretVersion mesh-hub1-agent-2",
  ]);
  assert.deepEqual(children(one1).filter((c) => !children(two).includes(c)), []);
  const naming = { project: PROJECT, stack: "test", node: NODE };
  const parts = agentDelivery(LARGER, "gcp").values;
  assert.equal(parts.join(""), LARGER.value);
  // The member the config's binding names: the node's own service account (tests/pulumi/gcp.test.ts checks it is).
  const own = input<string>(one(two, "gcp:secretmanager/secretIamMember:SecretIamMember", `${NODE}-read-wg0`), "member");
  assert.match(own, /^serviceAccount:wgm-hub1-[0-9a-f]{6}@/);
  for (const part of [1, 2]) {
    const secret = one(two, "gcp:secretmanager/secret:Secret", agentPartName(`${NODE}-agent`, part));
    assert.equal(input(secret, "secretId"), agentPartName(gcpAgentSecretId(naming), part));
    assert.equal(input(one(two, "gcp:secretmanager/secretVersion:SecretVersion", agentPartName(`${NODE}-agent`, part)), "secretData"), parts[part - 1]);
    const member = one(two, "gcp:secretmanager/secretIamMember:SecretIamMember", `${NODE}-read-${agentPartName("agent", part)}`);
    assert.equal(input(member, "secretId"), input(secret, "secretId"));
    assert.equal(input(member, "role"), "roles/secretmanager.secretAccessor");
    assert.equal(input(member, "member"), own);
  }
  const config = one(two, "gcp:secretmanager/secretVersion:SecretVersion", `${NODE}-wg0`);
  assert.equal(parsePayload(input<string>(config, "secretData")).agent.parts, 2);
  assert.deepEqual(await policyViolations(two, "gcp"), []);
});

test("Azure: an agent over 25,000 bytes is two secrets in the node's own vault, wgmesh-agent and wgmesh-agent-2, the config written after both", async () => {
  const spec = oneCloudSpec("azure");
  // The baseline: an agent of one secret (this release's is already two on Azure).
  const today = await runMesh(spec, { agent: smallAgent("0.98.0") });
  const two = await runMesh(spec, { agent: LARGE });
  assert.equal(agentDelivery(LARGE, "azure").ref.parts, 2);
  const added = children(two).filter((c) => !children(today).includes(c));
  assert.deepEqual(added, ["azure:keyvault/secret:Secret mesh-hub1-agent-2"]);
  assert.deepEqual(children(today).filter((c) => !children(two).includes(c)), []);
  const vault = one(two, "azure:keyvault/keyVault:KeyVault", `${NODE}-kv`);
  const parts = agentDelivery(LARGE, "azure").values;
  const secrets = [1, 2].map((part) => one(two, "azure:keyvault/secret:Secret", agentPartName(`${NODE}-agent`, part)));
  assert.deepEqual(secrets.map((s) => input(s, "name")), [AZURE_AGENT_SECRET_NAME, `${AZURE_AGENT_SECRET_NAME}-2`]);
  assert.deepEqual(secrets.map((s) => input(s, "value")), parts);
  assert.ok(parts.every((p) => p.length <= SIZE_LIMITS.azureKeyVaultSecret.bytes));
  assert.ok(secrets.every((s) => input(s, "keyVaultId") === vault.id));
  const config = one(two, "azure:keyvault/secret:Secret", `${NODE}-wg0`);
  for (const s of secrets) assert.ok(config.dependencies.includes(s.urn));
  assert.deepEqual(parsePayload(input<string>(config, "value")).agent, { version: "0.99.0", sha256: LARGE.sha256, bytes: LARGE.bytes, parts: 2 });
  assert.deepEqual(await policyViolations(two, "azure"), []);
  // The most parts there may be for a larger one, and the pack still has nothing to say.
  assert.equal(agentDelivery(LARGER, "azure").ref.parts, AGENT_MAX_PARTS);
  const most = await runMesh(spec, { agent: LARGER });
  assert.deepEqual(
    children(most).filter((c) => !children(today).includes(c)),
    [2, 3, 4].map((part) => `azure:keyvault/secret:Secret mesh-hub1-agent-${part}`),
  );
  assert.deepEqual(await policyViolations(most, "azure"), []);
});
