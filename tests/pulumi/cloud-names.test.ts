/**
 * Every name wg-mesh sends to a cloud, against that cloud's documented rule (infra/cloud-names.ts):
 * first the rules themselves on names the documents call valid and invalid, then one table of awkward
 * Mesh component, project, stack and node names (Singapore's natural "sg", 100-character project and
 * stack names, upper case, dots and underscores, 24-character nodes), each run under the mocks on all
 * three clouds with every recorded resource checked: the name given, the prefix given, or the
 * provider's own choice.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { autonameWorks, cleanName, nameProblem, NAME_RULES, resourceNameProblems, ruleFor } from "../../infra/cloud-names";
import type { MeshSpec, NodeSpec } from "../../infra/model";
import { Mesh } from "../../components";
import { runUnderMocks, type MockRun } from "../../stacks/synth/run";
import { meshArgs, runMesh } from "../support/pulumi";
import { largeAgent } from "../support/large-agent";
import { renderAgentBundle } from "../../infra/render/agent";
import { agentPartCount } from "../../infra/render/agent-parts";

test("the rules take what the clouds document as valid and refuse what they refuse", () => {
  const cases: [type: string, field: string, valid: string[], invalid: string[]][] = [
    ["aws:ec2/securityGroup:SecurityGroup", "name", ["web", "mesh-sg-sg-0a1b2c3", "Sg_prod (EU)", "x".repeat(255)], ["sg-web", "SG-web", "", "x".repeat(256), "tab\there"]],
    ["aws:iam/role:Role", "name", ["mesh-hkg-role-0a1b2c3", "a+b=c,d.e@f_g-h", "r".repeat(64)], ["r".repeat(65), "with space", "slash/no"]],
    ["aws:iam/instanceProfile:InstanceProfile", "name", ["p".repeat(128)], ["p".repeat(129)]],
    ["aws:secretsmanager/secret:Secret", "name", ["wg-mesh/prod/hkg/wg0.conf"], ["with space", "s".repeat(513)]],
    ["gcp:serviceaccount/account:Account", "accountId", ["wgm-hkg-0a1b2c", "abcdef", "a".repeat(30)], ["short", "a".repeat(31), "1abcdef", "abcdef-", "Upper-case"]],
    ["gcp:compute/instance:Instance", "name", ["a", "mesh-hkg-vm-0a1b2c3", "a".repeat(63)], ["a".repeat(64), "Mesh-hkg", "mesh_hkg", "-a", "a-", "1a"]],
    ["gcp:compute/firewall:Firewall", "name", ["mesh-hkg-wireguard-0a1b2c3"], ["mesh.hkg"]],
    ["gcp:secretmanager/secret:Secret", "secretId", ["wg-mesh-prod-hkg-wg0", "A_b-9"], ["a/b", "a.b", "s".repeat(256)]],
    ["azure:core/resourceGroup:ResourceGroup", "name", ["mesh-lhr-rg0a1b2c3d", "a(b)_c.d-e"], ["ends.", "g".repeat(91), "has space"]],
    ["azure:network/virtualNetwork:VirtualNetwork", "name", ["ab", "v".repeat(64)], ["a", "v".repeat(65), "-lead", "trail-"]],
    ["azure:network/networkInterface:NetworkInterface", "name", ["n".repeat(80), "nic_"], ["n".repeat(81), "_nic"]],
    ["azure:compute/linuxVirtualMachine:LinuxVirtualMachine", "name", ["mesh-lhr-vm0a1b2c3d", "v".repeat(64)], ["v".repeat(65), "vm_1", "vm-", "vm."]],
    ["azure:keyvault/keyVault:KeyVault", "name", ["wgm-lhr-0a1b2c3d", "abc", "k".repeat(24)], ["ab", "k".repeat(25), "1abc", "ab--cd", "abc-", "a_bc"]],
    ["azure:keyvault/secret:Secret", "name", ["wg0-conf"], ["wg0.conf", "s".repeat(128)]],
  ];
  for (const [type, field, valid, invalid] of cases) {
    const rule = ruleFor(type, field);
    for (const name of valid) assert.equal(nameProblem(rule, name), undefined, `${type}: ${JSON.stringify(name)} is valid`);
    for (const name of invalid) assert.ok(nameProblem(rule, name), `${type}: ${JSON.stringify(name)} is refused`);
  }
  assert.match(nameProblem(ruleFor("aws:ec2/securityGroup:SecurityGroup"), "sg-prod-hkg-sg-0a1b2c3") ?? "", /must not start with sg-/);
  // Every rule names its source and keeps its own clean names valid, from the worst names there are.
  for (const rule of NAME_RULES) {
    assert.ok(rule.source.length > 10, rule.what);
    for (const awkward of ["sg-sg", "SG_Mesh.EU", "-x-", "9lives", `${"Z".repeat(300)}`, "a--b", "a b/c"]) {
      if (rule.prefixField) {
        const prefix = cleanName(rule, awkward, rule.prefixSuffixLength);
        assert.ok(prefix.length <= (rule.prefixMax ?? Infinity), `${rule.what} prefix from ${awkward}: ${prefix.length}`);
        assert.equal(nameProblem(rule, `${prefix}${"0".repeat(rule.prefixSuffixLength ?? 0)}`), undefined, `${rule.what} prefix from ${awkward}`);
      } else assert.equal(nameProblem(rule, cleanName(rule, awkward)), undefined, `${rule.what} from ${awkward}`);
    }
  }
});

const NODE24 = "a23456789012345678901234";

/** A hub named sg on AWS, a POP sg-pop on GCP, 24-character backends on all three clouds, and a laptop. */
function awkwardSpec(): MeshSpec {
  const node = (name: string, role: NodeSpec["role"], region: string, address: string, cloud: NodeSpec["cloud"]): NodeSpec => ({
    name,
    role,
    region,
    site: "sin",
    address,
    cloud,
    links: [],
    ...(cloud === "aws" ? { aws: { region: "ap-southeast-1" } } : {}),
    ...(cloud === "gcp" ? { gcp: { project: "wgmesh-names", region: "asia-southeast1", zone: "asia-southeast1-a" } } : {}),
    ...(cloud === "azure" ? { azure: { location: "southeastasia" } } : {}),
  });
  return {
    overlay: "10.60.0.0/16",
    listenPort: 51820,
    persistentKeepalive: 25,
    mtu: "auto",
    topology: "regional",
    hub: "sg",
    keyEpoch: 1,
    presharedKeys: false,
    adminCidrs: ["203.0.113.0/24"],
    peerStacks: [],
    regions: [
      { name: "core", subnet: "10.60.0.0/24", area: "apac" },
      { name: "edge", subnet: "10.60.1.0/24", area: "apac" },
      { name: "apps", subnet: "10.60.2.0/24", area: "apac" },
    ],
    nodes: [
      node("sg", "hub", "core", "10.60.0.1", "aws"),
      node("sg-pop", "pop", "edge", "10.60.1.1", "gcp"),
      node(NODE24, "backend", "apps", "10.60.2.1", "azure"),
      node(`g${NODE24.slice(1)}`, "backend", "apps", "10.60.2.2", "gcp"),
      node(`w${NODE24.slice(1)}`, "backend", "apps", "10.60.2.3", "aws"),
      { name: "laptop", role: "backend", region: "apps", site: "sin", address: "10.60.2.9", cloud: "external", links: [] },
    ],
  };
}

const NAMES: { mesh: string; project: string; stack: string }[] = [
  { mesh: "mesh", project: "wg-mesh", stack: "prod" },
  { mesh: "sg", project: `p${"r".repeat(98)}j`, stack: `s${"t".repeat(98)}k` },
  { mesh: "sg-prod", project: "Acme.Net_wg-mesh", stack: "acme.prod_EU-1" },
  { mesh: "SG-Mesh_v2.EU", project: "wg-mesh", stack: "staging" },
  { mesh: "a-mesh-whose-name-goes-on-for-sixty-characters-or-so-0123456", project: `P${"_".repeat(98)}9`, stack: "prod" },
];

function problems(run: MockRun): string[] {
  return run.resources.flatMap((r) => resourceNameProblems(r).map((p) => `${r.type} ${r.name}: ${p}`));
}

for (const names of NAMES) {
  test(`every cloud name is valid: Mesh ${JSON.stringify(names.mesh)}, project of ${names.project.length}, stack ${JSON.stringify(names.stack.slice(0, 20))}${names.stack.length > 20 ? "..." : ""}`, async () => {
    const run = await runMesh(awkwardSpec(), { meshName: names.mesh, project: names.project, stack: names.stack });
    assert.deepEqual(problems(run), []);
    const checked = run.resources.filter((r) => NAME_RULES.some((rule) => rule.type === r.type));
    // Two AWS nodes of 6 named resources, two GCP nodes of 8, one Azure node of 10 (each node's agent secret among them),
    // and a secret for each further part of the agent on Azure (infra/render/agent-parts.ts; one part on AWS and GCP).
    const extraParts = (cloud: "aws" | "gcp" | "azure"): number => agentPartCount(cloud, renderAgentBundle().bytes) - 1;
    assert.equal(checked.length, 2 * (6 + extraParts("aws")) + 2 * (8 + 2 * extraParts("gcp")) + 10 + extraParts("azure"), "every resource with a cloud name was checked");
    // Fixed names a cloud keeps unique stay unique, however the awkward names cleaned up.
    for (const rule of NAME_RULES) {
      const given = run.resources.filter((r) => r.type === rule.type).map((r) => r.inputs[rule.field] ?? r.inputs[rule.prefixField ?? ""]).filter((v) => typeof v === "string");
      assert.equal(new Set(given).size, given.length, `${rule.what}: ${given.join(", ")}`);
    }
  });
}

test("every part of an agent in parts has a valid cloud name with the longest names: AWS, GCP and Azure", async () => {
  const names = NAMES[1] as (typeof NAMES)[number];
  const agent = largeAgent("0.99.0", 70_000);
  const run = await runMesh(awkwardSpec(), { meshName: names.mesh, project: names.project, stack: names.stack, agent });
  assert.deepEqual(problems(run), []);
  const secrets = run.resources.filter((r) => /secret:Secret$/.test(r.type) && /-agent-\d$/.test(r.name));
  // Two parts on each AWS and GCP node, four on the Azure one.
  assert.deepEqual(
    [agentPartCount("aws", agent.bytes), agentPartCount("gcp", agent.bytes), agentPartCount("azure", agent.bytes)],
    [2, 2, 4],
  );
  assert.equal(secrets.length, 2 * 1 + 2 * 1 + 3);
});

test("where the provider's own name would be refused, the resource gets a clean one; where it works, none is sent (existing stacks see no change)", async () => {
  const sg = await runMesh(awkwardSpec(), { meshName: "sg", project: "wg-mesh", stack: "prod" });
  const group = sg.resources.find((r) => r.type === "aws:ec2/securityGroup:SecurityGroup" && r.name === "sg-sg-sg");
  assert.ok(group, "the hub's security group");
  // EC2 refuses the provider's own choice, sg-sg-sg-<hex>: a name prefix that cannot start with sg- is sent instead.
  assert.equal(autonameWorks(ruleFor(group.type), group.name), false);
  assert.match(String(group.inputs.namePrefix), /^wg-sg-sg-sg-[0-9a-f]{7}-$/);
  assert.equal(group.inputs.name, undefined);

  const long = await runMesh(awkwardSpec(), { meshName: NAMES[4]?.mesh as string, project: "wg-mesh", stack: "prod" });
  const vm = long.resources.find((r) => r.type === "gcp:compute/instance:Instance" && r.name.endsWith("-sg-pop-vm"));
  assert.ok(vm && typeof vm.inputs.name === "string" && vm.inputs.name.length <= 63, `a GCP instance name of at most 63: ${String(vm?.inputs.name)}`);
  assert.equal(vm.deleteBeforeReplace, true, "a fixed name must be freed before a replacement takes it");

  // The stack program's own Mesh ("mesh") and valid node names: the provider names everything, as before.
  const plain = await runMesh(awkwardSpec());
  const sent = plain.resources.filter((r) => NAME_RULES.some((rule) => rule.type === r.type && rule.autoname && (r.inputs[rule.field] !== undefined || (rule.prefixField && r.inputs[rule.prefixField] !== undefined))));
  assert.deepEqual(sent.map((r) => `${r.type} ${r.name}`), []);
});

test("two Meshes in one stack may not share a node name, which names its vault secret; runs of the program start afresh", async () => {
  const spec = awkwardSpec();
  await assert.rejects(
    runUnderMocks({
      project: "wg-mesh",
      stack: "twice",
      program: () => {
        new Mesh("one", meshArgs(spec));
        new Mesh("two", meshArgs(spec));
      },
    }),
    (err) => {
      assert.match((err as Error).message, /^nodes\.sg: also a node of Mesh one in this stack; node names name vault secrets/);
      return true;
    },
  );
  // The same stack run again, with one Mesh: nothing is left claimed from the run before.
  await runUnderMocks({ project: "wg-mesh", stack: "twice", program: () => void new Mesh("two", meshArgs(spec)) });
});
