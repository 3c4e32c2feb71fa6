/**
 * The node agent in parts (infra/render/agent-parts.ts): how many secrets a vault needs for it, the
 * slices, their names on every cloud (within each cloud's naming rules with the longest names Pulumi
 * allows), the entry's agent line, the plan-time cap and the cost of the extra secrets.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { meshCost, secretsPerNode } from "../../infra/cost";
import { SIZE_LIMITS, vaultLimit } from "../../infra/limits";
import { planMesh } from "../../infra/plan";
import { agentSizeIssues } from "../../infra/plan/sizes";
import { renderAgentBundle, useDeployedAgent } from "../../infra/render/agent";
import { AGENT_MAX_PARTS, agentDelivery, agentPartCount, agentPartName, agentPartNames, agentPartOf, agentPartValues } from "../../infra/render/agent-parts";
import { sha256 } from "../../infra/render/fileset";
import { parsePayload, renderPayload } from "../../infra/render/payload";
import { renderBootstrap } from "../../infra/render/sync-script";
import { awsSecretOf, vaultLocatorFor, type VaultLocator } from "../../infra/vault";
import { largeAgent } from "../support/large-agent";
import { seedSpec } from "../support/seed-spec";
import { LONGEST_NODE, LONGEST_PLACEMENTS, LONGEST_PROJECT, LONGEST_STACK } from "../support/longest-names";

const CONFIG = "[Interface]\nPrivateKey = x\nAddress = 10.0.0.1/24\n";

test("the part count is the value's size over the vault's per-secret limit, rounded up; one where there is no limit", () => {
  const azure = SIZE_LIMITS.azureKeyVaultSecret.bytes;
  assert.equal(agentPartCount("azure", 1), 1);
  assert.equal(agentPartCount("azure", azure), 1);
  assert.equal(agentPartCount("azure", azure + 1), 2);
  assert.equal(agentPartCount("azure", 3 * azure + 1), 4);
  for (const cloud of ["aws", "gcp"] as const) {
    const limit = (vaultLimit(cloud) as { bytes: number }).bytes;
    assert.equal(agentPartCount(cloud, 30_000), 1, cloud);
    assert.equal(agentPartCount(cloud, limit + 1), 2, cloud);
  }
  assert.equal(agentPartCount("external", 10 ** 7), 1);
  assert.equal(agentPartCount(undefined, 10 ** 7), 1, "the lab's files: no limit");
  // An agent of 30 KB or so (this release's, with the watchdog and the firewall) is two secrets on Azure only.
  const large = largeAgent();
  assert.deepEqual(["aws", "gcp", "azure"].map((c) => agentDelivery(large, c as "aws").ref.parts), [1, 1, 2]);
});

test("the parts are slices of the value in order: joined they are the value, each within the limit, the sha256 and size those of the whole", () => {
  const large = largeAgent();
  const { ref, values } = agentDelivery(large, "azure");
  assert.equal(values.length, 2);
  assert.equal(values.join(""), large.value);
  for (const v of values) assert.ok(v.length > 0 && Buffer.byteLength(v) <= SIZE_LIMITS.azureKeyVaultSecret.bytes, `${v.length}`);
  assert.deepEqual(ref, { version: large.version, sha256: sha256(large.value), bytes: Buffer.byteLength(large.value), parts: 2 });
  for (let n = 1; n <= 7; n++) {
    const parts = agentPartValues("abcdefghij", n);
    assert.equal(parts.length, n);
    assert.equal(parts.join(""), "abcdefghij");
    const lengths = parts.map((x) => x.length);
    assert.ok(Math.max(...lengths) - Math.min(...lengths) <= 1 && Math.min(...lengths) > 0, `${n}: ${lengths.join(",")}`);
  }
  assert.throws(() => agentPartValues("abc", 0), /not a part count/);
  // A larger agent needs more parts; each stays within the limit.
  const huge = largeAgent("0.99.0", 80_000);
  const split = agentDelivery(huge, "azure");
  assert.equal(split.values.length, Math.ceil(huge.bytes / SIZE_LIMITS.azureKeyVaultSecret.bytes));
  assert.ok(split.values.every((v) => v.length <= SIZE_LIMITS.azureKeyVaultSecret.bytes));
  assert.equal(split.values.join(""), huge.value);
});

test("part 1 keeps the agent secret's name; part i is the name with -i; the inverse reads them back and nothing else", () => {
  assert.equal(agentPartName("wgmesh-agent", 1), "wgmesh-agent");
  assert.equal(agentPartName("wgmesh-agent", 2), "wgmesh-agent-2");
  assert.deepEqual(agentPartNames("p/s/n/agent", 3), ["p/s/n/agent", "p/s/n/agent-2", "p/s/n/agent-3"]);
  assert.throws(() => agentPartName("x", 0));
  assert.throws(() => agentPartName("x", AGENT_MAX_PARTS + 1));
  for (let i = 1; i <= AGENT_MAX_PARTS; i++) assert.equal(agentPartOf(agentPartName("wgmesh-agent", i), "wgmesh-agent"), i);
  for (const other of ["wgmesh-agent-1", "wgmesh-agent-0", `wgmesh-agent-${AGENT_MAX_PARTS + 1}`, "wgmesh-agent-02", "wgmesh-agentx", "wg0-conf"]) assert.equal(agentPartOf(other, "wgmesh-agent"), undefined, other);
  assert.deepEqual(awsSecretOf("p/s/n/agent-2"), { node: "p/s/n", which: "agent", part: 2 });
  assert.deepEqual(awsSecretOf("p/s/n/agent"), { node: "p/s/n", which: "agent", part: 1 });
  assert.deepEqual(awsSecretOf("p/s/n/wg0.conf"), { node: "p/s/n", which: "config", part: 1 });
  assert.equal(awsSecretOf(`p/s/n/agent-${AGENT_MAX_PARTS + 1}`), undefined);
  assert.equal(awsSecretOf("p/s/n/wg0.conf-2"), undefined);
});

test("every part's name keeps each cloud's naming rules with the longest project, stack and node names", () => {
  const [project, stack, node, placements] = [LONGEST_PROJECT, LONGEST_STACK, LONGEST_NODE, LONGEST_PLACEMENTS];
  for (const p of placements) {
    const vault = vaultLocatorFor(p, project, stack) as VaultLocator;
    for (let part = 1; part <= AGENT_MAX_PARTS; part++) {
      // The bootstrap's renderer holds a vault's names to its cloud's rules (vaultScript): a part named as
      // the agent secret must pass them too, since the bootstrap and the agent fetch it by that name.
      const named: VaultLocator =
        vault.kind === "aws-secretsmanager" || vault.kind === "azure-keyvault"
          ? { ...vault, agentSecretName: agentPartName(vault.agentSecretName, part) }
          : vault.kind === "gcp-secretmanager"
            ? { ...vault, agentSecretId: agentPartName(vault.agentSecretId, part) }
            : vault;
      assert.doesNotThrow(() => renderBootstrap({ node, vault: named }), `${p.cloud} part ${part}`);
    }
  }
  // And the rules do bite: a name one character over GCP's 255 is refused.
  const gcp = vaultLocatorFor(placements[1] as (typeof placements)[number], project, stack) as Extract<VaultLocator, { kind: "gcp-secretmanager" }>;
  assert.ok(agentPartName(gcp.agentSecretId, AGENT_MAX_PARTS).length <= 255);
  assert.throws(() => renderBootstrap({ node, vault: { ...gcp, agentSecretId: "a".repeat(256) } }), /vault\.agentSecretId/);
});

test("the entry's agent line carries the part count; the parser reads it back and refuses a line without it", () => {
  const large = largeAgent();
  const entry = renderPayload({ node: "lhr", config: CONFIG, agent: agentDelivery(large, "azure").ref, bootstrap: "#!/bin/bash\n" });
  assert.match(entry, new RegExp(`^#@wgmesh agent ${large.version.replace(/\./g, "\\.")} ${large.sha256} ${large.bytes} 2$`, "m"));
  assert.deepEqual(parsePayload(entry).agent, { version: large.version, sha256: large.sha256, bytes: large.bytes, parts: 2 });
  const oneLess = entry.replace(/^(#@wgmesh agent \S+ \S+ \S+) 2$/m, "$1");
  assert.throws(() => parsePayload(oneLess));
  assert.throws(() => renderPayload({ node: "lhr", config: CONFIG, agent: { ...agentDelivery(large, "azure").ref, parts: AGENT_MAX_PARTS + 1 }, bootstrap: "#!/bin/bash\n" }), new RegExp(`agent parts ${AGENT_MAX_PARTS + 1} is not 1-${AGENT_MAX_PARTS}`));
  assert.throws(() => renderPayload({ node: "lhr", config: CONFIG, agent: { ...agentDelivery(large, "azure").ref, parts: 0 }, bootstrap: "#!/bin/bash\n" }), new RegExp(`agent parts 0 is not 1-${AGENT_MAX_PARTS}`));
});

test("plan time: an agent in parts is fine up to the cap; one needing more parts than that is one line naming its size and the cap", () => {
  const plan = planMesh(seedSpec());
  assert.deepEqual(agentSizeIssues(plan, largeAgent()), [], "two parts on Azure");
  const huge = largeAgent("0.99.0", 110_000);
  const issues = agentSizeIssues(plan, huge);
  const azureParts = Math.ceil(huge.bytes / SIZE_LIMITS.azureKeyVaultSecret.bytes);
  assert.ok(azureParts > AGENT_MAX_PARTS);
  assert.deepEqual(issues, [
    {
      path: "agent",
      message: `node agent 0.99.0 is ${huge.bytes.toLocaleString("en-US")} bytes, ${azureParts} parts of an Azure Key Vault secret (25 KB), above wg-mesh's 4 parts (100,000 bytes); use a release whose agent fits`,
    },
  ]);
});

test("plan --cost: a node's secrets are its config entry and each part of its agent", () => {
  assert.deepEqual(secretsPerNode("azure", { ...renderAgentBundle(), bytes: 20_000 }), { count: 2, agentParts: 1 });
  assert.deepEqual(secretsPerNode("azure", largeAgent()), { count: 3, agentParts: 2 });
  assert.deepEqual(secretsPerNode("aws", largeAgent()), { count: 2, agentParts: 1 });
  const spec = seedSpec();
  const before = meshCost(spec);
  useDeployedAgent(largeAgent("0.99.0", 70_000));
  try {
    const after = meshCost(spec);
    // Over 64 KB: two parts on AWS (64 KB secrets), and AWS charges per secret.
    const aws = after.nodes.find((n) => n.cloud === "aws");
    assert.ok(aws, "the seed has an AWS node");
    assert.ok(aws.items.some((i) => /^Secrets Manager secret x3 \(config entry, node agent in 2 parts\)$/.test(i.what) && i.monthly === 1.2), JSON.stringify(aws.items));
    assert.ok(after.monthly > before.monthly);
  } finally {
    useDeployedAgent(undefined);
  }
});
