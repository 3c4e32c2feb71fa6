/**
 * The whole policy pack over every resource `wgmesh synth` makes for prod and staging (the real
 * stack program under the mock runtime): zero violations. And the same resources with one hand
 * edit each are caught, so the zero above is not a pack that looks at nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { stackConfig } from "../../workspace/project";
import { freshRequire, runUnderMocks } from "../../stacks/synth/run";
import { policies } from "../../policy/policies";
import { fromRecorded, runPolicies, type HarnessResource } from "../support/policy-harness";

const REPO = resolve(__dirname, "..", "..");

async function synthResources(stack: string): Promise<{ resources: HarnessResource[]; adminCidrs: string[] }> {
  const { config, secretKeys } = stackConfig(join(REPO, `Pulumi.${stack}.yaml`));
  const run = await runUnderMocks({ project: "wg-mesh", stack, config, secretKeys, unknownStacks: "empty", program: () => freshRequire(join(REPO, "stacks", "index.ts")) });
  const mesh = JSON.parse(config["wg-mesh:mesh"] as string) as { adminCidrs?: string[] };
  return { resources: fromRecorded(run.resources), adminCidrs: mesh.adminCidrs ?? [] };
}

for (const stack of ["prod", "staging"]) {
  test(`the whole pack over every resource of wgmesh synth --stack ${stack}: zero violations, and hand edits are caught`, async () => {
    const { resources, adminCidrs } = await synthResources(stack);
    const config = { "wg-ssh-admin-only": { adminCidrs } };
    assert.ok(resources.filter((r) => r.custom).length > 50, "the stack made its resources");
    assert.deepEqual(await runPolicies(policies, resources, config), []);

    const edited = (type: string, edit: (props: Record<string, unknown>) => void): HarnessResource[] => {
      const copy = structuredClone(resources);
      const target = copy.find((r) => r.type === type);
      assert.ok(target, `${stack} has a ${type}`);
      edit(target.props);
      return copy;
    };
    const caught = async (rs: HarnessResource[]): Promise<string[]> => [...new Set((await runPolicies(policies, rs, config)).map((v) => v.policy))];
    assert.deepEqual(
      await caught(edited("aws:ec2/securityGroup:SecurityGroup", (p) => (p.ingress as Record<string, unknown>[]).push({ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }))),
      ["wg-no-world-ingress", "wg-ssh-admin-only"],
    );
    assert.deepEqual(await caught(edited("aws:ec2/instance:Instance", (p) => (p.metadataOptions = { httpTokens: "optional" }))), ["wg-imdsv2"]);
    assert.deepEqual(
      await caught(edited("aws:ec2/instance:Instance", (p) => (p.userData = `${String(p.userData)}\nPrivateKey = x\n`))),
      ["wg-no-key-in-user-data"],
    );
    // A node's read grant reaching another node's agent.
    const rolePolicies = resources.filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy");
    if (rolePolicies.length >= 2) {
      const other = (JSON.parse(String(rolePolicies[1]?.props.policy)) as { Statement: { Resource: string[] }[] }).Statement[0]?.Resource[1] as string;
      assert.deepEqual(
        await caught(edited("aws:iam/rolePolicy:RolePolicy", (p) => {
          const doc = JSON.parse(String(p.policy)) as { Statement: { Resource: string[] }[] };
          (doc.Statement[0] as { Resource: string[] }).Resource[1] = other;
          p.policy = JSON.stringify(doc);
        })),
        ["wg-vault-read-one-secret"],
      );
    }
    assert.deepEqual(
      await caught(edited("gcp:compute/firewall:Firewall", (p) => {
        if (Array.isArray(p.sourceRanges)) p.sourceRanges = [...(p.sourceRanges as string[]), "198.51.100.77/32"];
      })),
      ["wg-wireguard-sources-are-peers"],
    );
  });
}
