/**
 * The policy pack's wg-access-policy-required over the real stack program's resources (wgmesh synth
 * under the mock runtime): prod as declared (no access) is refused in an environment that must have
 * one, and passes where none is required; prod with an access policy passes; the Mesh's summary
 * output carries what the rule reads.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { stackConfig } from "../../workspace/project";
import { freshRequire, runUnderMocks } from "../../stacks/synth/run";
import { accessPolicyRequired } from "../../policy/policies";
import { fromRecorded, runPolicies, type HarnessResource } from "../support/policy-harness";
import { PROD_POLICY } from "../support/prod-access";
import { provePlan } from "../../components/prove";
import { MeshRunError } from "../../components/errors";
import { parseMeshConfig } from "../../infra/config";
import { inferPackageSchema } from "../../components/provider";
import { ACCESS_ECHOES } from "../../infra/access/model";

const REPO = resolve(__dirname, "..", "..");

async function synthProd(access?: unknown): Promise<HarnessResource[]> {
  const { config, secretKeys } = stackConfig(join(REPO, "Pulumi.prod.yaml"));
  if (access) config["wg-mesh:mesh"] = JSON.stringify({ ...(JSON.parse(config["wg-mesh:mesh"] as string) as object), access });
  const run = await runUnderMocks({ project: "wg-mesh", stack: "prod", config, secretKeys, unknownStacks: "empty", program: () => freshRequire(join(REPO, "stacks", "index.ts")) });
  return fromRecorded(run.resources);
}

async function violations(resources: HarnessResource[], environments: string[]): Promise<string[]> {
  return (await runPolicies([accessPolicyRequired], resources, { [accessPolicyRequired.name]: { environments } })).map((v) => v.message);
}

test("wg-access-policy-required: a mesh without access is refused in the environments named, and only there", async () => {
  const flat = await synthProd();
  const mesh = flat.find((r) => r.type === "wg-mesh:index:Mesh");
  assert.deepEqual((mesh?.props.summary as { access?: unknown }).access, { declared: false, groups: 0, rules: 0, tests: 0, echo: "" });
  assert.deepEqual(await violations(flat, ["prod"]), [
    "mesh: stack prod is one of the environments that must declare access (prod), but its mesh has no access policy, so every node reaches every other on every port; declare access under wg-mesh:mesh (docs/access.md)",
  ]);
  assert.equal((await violations(flat, ["prod-*", "pr*d"])).length, 1, "a * pattern names prod too");
  assert.deepEqual(await violations(flat, ["staging", "prod-eu"]), []);
  assert.deepEqual(await violations(flat, []), [], "no environment named: nothing required");

  const guarded = await synthProd(PROD_POLICY);
  const summary = guarded.find((r) => r.type === "wg-mesh:index:Mesh")?.props.summary as { access?: unknown };
  assert.deepEqual(summary.access, { declared: true, groups: 4, rules: 3, tests: 3, echo: "neighbours" });
  assert.deepEqual(await violations(guarded, ["prod"]), []);
});

test("the deploy gate refuses a plan whose access tests fail, one line per failing flow, before anything exists", () => {
  const raw = { ...(JSON.parse(stackConfig(join(REPO, "Pulumi.prod.yaml")).config["wg-mesh:mesh"] as string) as object) };
  const spec = parseMeshConfig({ ...raw, access: { ...PROD_POLICY, tests: [...PROD_POLICY.tests, { from: "backends", to: "hkg", accept: ["tcp/443"] }] } });
  assert.throws(
    () => provePlan(spec),
    (err: unknown) => {
      assert.ok(err instanceof MeshRunError);
      const lines = err.message.split("\n");
      assert.equal(lines[0], "access.tests[3]: gru -> hkg tcp/443: expected allowed, dropped at ireland (forward: no rule allows gru -> hkg tcp/443)");
      assert.equal(lines.at(-2), "access.tests[3]: and 2 more flows");
      assert.equal(lines.at(-1), "the access policy's tests fail in the simulator; nothing was deployed (run wgmesh plan to see them)");
      return true;
    },
  );
  assert.doesNotThrow(() => provePlan(parseMeshConfig({ ...raw, access: PROD_POLICY })));
});

test("the component package's schema carries access: typed, documented, echo as an enum", () => {
  const schema = inferPackageSchema() as unknown as { resources: Record<string, { inputProperties: Record<string, { $ref?: string }> }>; types: Record<string, { enum?: { value: string }[]; properties?: Record<string, unknown> }> };
  assert.equal(schema.resources["wg-mesh:index:Mesh"]?.inputProperties.access?.$ref, "#/types/wg-mesh:index:AccessDeclaration");
  assert.deepEqual(schema.types["wg-mesh:index:AccessEcho"]?.enum?.map((e) => e.value), [...ACCESS_ECHOES]);
  assert.deepEqual(Object.keys(schema.types["wg-mesh:index:AccessDeclaration"]?.properties ?? {}).sort(), ["adminFrom", "echo", "groups", "rules", "tests"]);
  assert.deepEqual(Object.keys(schema.types["wg-mesh:index:AccessGroupDeclaration"]?.properties ?? {}).sort(), ["areas", "clouds", "groups", "nodes", "regions", "roles", "sites"]);
});
