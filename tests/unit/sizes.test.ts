/**
 * Size limits at plan time: what is measured is never below what will be stored, and a vault entry,
 * the agent or user data above its limit is refused in one line naming the node, its size and the limit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { worldMeshConfig } from "../../bench/world-mesh";
import { parseMeshConfig } from "../../infra/config";
import { SIZE_LIMITS, vaultLimit } from "../../infra/limits";
import { MeshConfigError } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { agentSizeIssues, configSizes, userDataIssues } from "../../infra/plan/sizes";
import { renderAgentBundle } from "../../infra/render/agent";
import { AGENT_MAX_PARTS, agentDelivery, agentPartCount } from "../../infra/render/agent-parts";
import { shippedBootstrap } from "../../infra/render/cloudinit";
import { renderAll, throwAwayKeys } from "../../infra/render/mesh";
import { renderPayload } from "../../infra/render/payload";
import { vaultLocatorFor } from "../../infra/vault";
import { seedSpec } from "../support/seed-spec";

test("the limits wg-mesh enforces", () => {
  assert.equal(SIZE_LIMITS.azureKeyVaultSecret.bytes, 25_000);
  assert.equal(SIZE_LIMITS.awsSecretsManagerSecret.bytes, 65_536);
  assert.equal(SIZE_LIMITS.gcpSecretManagerSecret.bytes, 65_536);
  assert.equal(SIZE_LIMITS.awsUserData.bytes, 16_384);
  assert.equal(vaultLimit("azure"), SIZE_LIMITS.azureKeyVaultSecret);
  assert.equal(vaultLimit("external"), undefined);
});

test("the measured size is the deployed size: real keys and the longest public address give the same wg0.conf, and no entry is larger than measured", () => {
  const plan = planMesh(seedSpec({ presharedKeys: true }));
  const keys = throwAwayKeys(plan);
  const endpoints = Object.fromEntries(plan.nodes.map((n) => [n.name, "255.255.255.255"]));
  const real = renderAll(plan, keys, endpoints);
  const agent = renderAgentBundle();
  for (const s of configSizes(plan)) {
    assert.equal(s.config, Buffer.byteLength(real[s.node] as string), s.node);
    const spec = plan.spec.nodes.find((n) => n.name === s.node) as (typeof plan.spec.nodes)[number];
    const vault = vaultLocatorFor(spec, "wg-mesh", "prod");
    if (!vault) {
      assert.equal(s.bytes, s.config, `${s.node}: an external node's config is its wg0.conf`);
      continue;
    }
    const entry = renderPayload({ node: s.node, config: real[s.node] as string, agent: agentDelivery(agent, spec.cloud).ref, bootstrap: shippedBootstrap({ node: s.node, vault }) });
    assert.ok(Buffer.byteLength(entry) <= s.bytes && s.bytes - Buffer.byteLength(entry) < 1_500, `${s.node}: entry ${Buffer.byteLength(entry)} measured ${s.bytes}`);
  }
  const short = renderAll(plan, keys, Object.fromEntries(plan.nodes.map((n) => [n.name, "1.2.3.4"])));
  for (const s of configSizes(plan)) assert.ok(Buffer.byteLength(short[s.node] as string) <= s.config);
});

test("the node agent fits every cloud's vault, in parts where a secret is too small for it (Azure's 25 KB), with room for the features to come", () => {
  const agent = renderAgentBundle();
  // Within the parts wg-mesh allows on the smallest vault, with a part's worth to spare.
  assert.ok(agent.bytes <= (AGENT_MAX_PARTS - 1) * SIZE_LIMITS.azureKeyVaultSecret.bytes, `${agent.bytes} bytes`);
  assert.ok(agentPartCount("azure", agent.bytes) <= AGENT_MAX_PARTS - 1);
  assert.deepEqual(agentSizeIssues(planMesh(seedSpec())), []);
});

test("a hub whose wg0.conf outgrows its Key Vault secret: refused, naming the node, its size and the limit", () => {
  const raw = worldMeshConfig(141, { topology: "hub", natShare: 0 }) as { hub: string; nodes: Record<string, Record<string, unknown>> };
  const hub = raw.nodes[raw.hub] as Record<string, unknown>;
  raw.nodes[raw.hub] = { role: hub.role, region: hub.region, site: hub.site, address: hub.address, cloud: "azure", azure: { location: "northeurope" } };
  const spec = parseMeshConfig(raw);
  const err = (() => {
    try {
      planMesh(spec);
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof MeshConfigError);
  assert.equal(err.issues.length, 1);
  assert.equal(err.issues[0]?.path, `nodes.${raw.hub}`);
  assert.match(err.issues[0]?.message ?? "", /^its vault entry \(wg0\.conf \d\d,\d{3} bytes, and wg-mesh's lines\) is \d\d,\d{3} bytes, above the 25,000 bytes of an Azure Key Vault secret \(25 KB\); use topology: auto/);
  // The same hub on AWS fits its 64 KB secret, and the bench can still measure an oversized one.
  raw.nodes[raw.hub] = { role: hub.role, region: hub.region, site: hub.site, address: hub.address, cloud: "aws", aws: { region: "eu-west-1" } };
  assert.doesNotThrow(() => planMesh(parseMeshConfig(raw)));
  assert.ok((configSizes(planMesh(spec, { checkSizes: false })).find((s) => s.node === raw.hub)?.bytes ?? 0) > 25_000);
});

test("user data is checked at plan time against the bootstrap's 4 KB: prod fits, with Pulumi's longest names too; longer ones are refused naming the node", () => {
  const spec = seedSpec();
  assert.deepEqual(userDataIssues(spec, "wg-mesh", "prod"), []);
  assert.deepEqual(userDataIssues(spec, "p".repeat(100), "s".repeat(100)), []);
  // A Secrets Manager name may be 512 characters, but names that long do not fit the budget.
  spec.nodes = spec.nodes.filter((n) => n.cloud === "aws");
  const issues = userDataIssues(spec, "p".repeat(440), "s".repeat(40));
  assert.equal(issues.length, spec.nodes.length);
  assert.match(issues[0]?.message ?? "", /^its user data is \d,\d{3} bytes, over wg-mesh's budget for a node's user data, the bootstrap \(4 KB\): at most 4,096 bytes; shorten the project, stack or node name$/);
});
