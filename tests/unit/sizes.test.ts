/**
 * Size limits at plan time: what is measured is what will be stored, and a config or user data
 * above its limit is refused in one line naming the node, its size and the limit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { worldMeshConfig } from "../../bench/world-mesh";
import { parseMeshConfig } from "../../infra/config";
import { SIZE_LIMITS, vaultLimit } from "../../infra/limits";
import { MeshConfigError } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { configSizes, userDataIssues } from "../../infra/plan/sizes";
import { renderAll, throwAwayKeys } from "../../infra/render/mesh";
import { seedSpec } from "../support/seed-spec";

test("the limits wg-mesh enforces", () => {
  assert.equal(SIZE_LIMITS.azureKeyVaultSecret.bytes, 25_000);
  assert.equal(SIZE_LIMITS.awsSecretsManagerSecret.bytes, 65_536);
  assert.equal(SIZE_LIMITS.gcpSecretManagerSecret.bytes, 65_536);
  assert.equal(SIZE_LIMITS.awsUserData.bytes, 16_384);
  assert.equal(vaultLimit("azure"), SIZE_LIMITS.azureKeyVaultSecret);
  assert.equal(vaultLimit("external"), undefined);
});

test("the measured size is the deployed size: real keys and the longest public address give the same bytes", () => {
  const plan = planMesh(seedSpec({ presharedKeys: true }));
  const keys = throwAwayKeys(plan);
  const endpoints = Object.fromEntries(plan.nodes.map((n) => [n.name, "255.255.255.255"]));
  const real = renderAll(plan, keys, endpoints);
  for (const s of configSizes(plan)) assert.equal(s.bytes, Buffer.byteLength(real[s.node] as string), s.node);
  const short = renderAll(plan, keys, Object.fromEntries(plan.nodes.map((n) => [n.name, "1.2.3.4"])));
  for (const s of configSizes(plan)) assert.ok(Buffer.byteLength(short[s.node] as string) <= s.bytes);
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
  assert.match(err.issues[0]?.message ?? "", /^its wg0\.conf is \d\d,\d{3} bytes, above the 25,000 bytes of an Azure Key Vault secret \(25 KB\); use topology: auto/);
  // The same hub on AWS fits its 64 KB secret, and the bench can still measure an oversized one.
  raw.nodes[raw.hub] = { role: hub.role, region: hub.region, site: hub.site, address: hub.address, cloud: "aws", aws: { region: "eu-west-1" } };
  assert.doesNotThrow(() => planMesh(parseMeshConfig(raw)));
  assert.ok((configSizes(planMesh(spec, { checkSizes: false })).find((s) => s.node === raw.hub)?.bytes ?? 0) > 25_000);
});

test("user data is checked at plan time as AWS counts it (gzip-compressed): prod fits, with the longest names too", () => {
  const spec = seedSpec();
  assert.deepEqual(userDataIssues(spec, "wg-mesh", "prod"), []);
  // A Secrets Manager name is at most 512 characters; what repeats compresses away.
  spec.nodes = spec.nodes.filter((n) => n.cloud === "aws");
  assert.deepEqual(userDataIssues(spec, "p".repeat(440), "s".repeat(40)), []);
  // One that does not fit is refused in one line: tests/unit/cloudinit.test.ts (userDataProblem, which this uses).
});
