/**
 * The real program (stacks/index.ts) with the prod and staging config files: no private or
 * preshared key, in any encoding, anywhere in a resource input, a component output or a stack
 * output that is not marked secret. Key material lives only in the vault secrets' values and
 * in the secret externalConfigs output.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { stackConfig } from "../../workspace/project";
import { freshRequire, runUnderMocks, type MockRun } from "../../stacks/synth/run";
import { unwrapSecrets } from "../../stacks/synth/mock-cloud";
import { deliveredConfigs, findLeaks, isSecretValue, PROJECT, REPO, runStackFile, secretInputs, VAULT_VALUE, type Leak } from "../support/pulumi";

const ALLOWED_SECRET_INPUTS = new Set([
  ...Object.values(VAULT_VALUE).map((v) => `${v.type} ${v.key}`),
  // The azure SDK marks custom data secret by itself; it holds no key (see mesh-change.test.ts).
  "azure:compute/linuxVirtualMachine:LinuxVirtualMachine customData",
]);

function leaks(run: MockRun): Leak[] {
  const needles = run.cloud.keyMaterial();
  assert.ok(needles.length > 0);
  return [
    ...run.resources.flatMap((r) => findLeaks(r.inputs, needles, `${r.type} ${r.name} inputs`)),
    ...run.resources.flatMap((r) => findLeaks(r.outputs ?? {}, needles, `${r.type} ${r.name} outputs`)),
    ...findLeaks(run.outputs, needles, "stack outputs"),
  ];
}

function checkRun(run: MockRun, stack: string): void {
  assert.deepEqual(leaks(run), [], `${stack}: key material outside secrets`);

  // Not vacuous: each node's private key does sit in its vault secret.
  const configs = deliveredConfigs(run);
  const nodes = Object.keys(run.outputs.nodes as object);
  assert.deepEqual(Object.keys(configs).sort(), [...nodes].sort());
  const keys = run.cloud.keyMaterial();
  for (const node of nodes) assert.ok(keys.some((k) => configs[node]?.includes(`PrivateKey = ${k}`)), `${stack}: ${node}'s config has its key`);

  const secretPlaces = new Set(secretInputs(run).map((s) => s.split(" ").filter((_, i) => i !== 1).join(" ")));
  assert.deepEqual([...secretPlaces].filter((s) => !ALLOWED_SECRET_INPUTS.has(s)), [], `${stack}: secrets flow only into vault values`);
  for (const [name, value] of Object.entries(run.outputs)) assert.equal(isSecretValue(value), name === "externalConfigs", `${stack}: output ${name}`);
}

for (const stack of ["prod", "staging"]) {
  test(`${stack}: no key material in any plain input or output`, async () => {
    const run = await runStackFile(stack);
    checkRun(run, stack);
    const summary = run.outputs.summary as { reachablePairs: number; orderedPairs: number };
    assert.equal(summary.reachablePairs, summary.orderedPairs);
  });
}

test("prod with preshared keys and an external node: still no key material outside secrets", async () => {
  const file = join(REPO, "Pulumi.prod.yaml");
  const { config } = stackConfig(file);
  const mesh = JSON.parse(config["wg-mesh:mesh"] as string) as { presharedKeys?: boolean; nodes: Record<string, unknown> };
  mesh.presharedKeys = true;
  mesh.nodes.laptop = { role: "backend", region: "europe", site: "lhr", address: "10.50.3.50", cloud: "external" };
  const run = await runUnderMocks({
    project: PROJECT,
    stack: "prod",
    config: { ...config, "wg-mesh:mesh": JSON.stringify(mesh) },
    program: () => freshRequire(join(REPO, "stacks", "index.ts")),
  });
  assert.ok(run.cloud.randomBytes.size > 13, "node keys and preshared keys were made");
  checkRun(run, "prod+psk");
  const external = unwrapSecrets(run.outputs.externalConfigs) as Record<string, string>;
  assert.match(external.laptop ?? "", /PresharedKey = /);
});
