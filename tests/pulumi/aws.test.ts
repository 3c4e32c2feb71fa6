/** AWS hosts under Pulumi's mocks: what each role's resources admit, run with, and may read. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MOCK_AMI } from "../../stacks/synth/mock-cloud";
import type { MockRun, RecordedResource } from "../../stacks/synth/run";
import { renderAgentBundle } from "../../infra/render/agent";
import { renderCloudInit } from "../../infra/render/cloudinit";
import { parsePayload } from "../../infra/render/payload";
import { awsAgentSecretName, awsSecretName, vaultLocatorFor, type VaultLocator } from "../../infra/vault";
import { input, nodeOf, oneCloudSpec, one, ofType, parentOf, publicIps, resourcesOf, runMesh, PROJECT } from "../support/pulumi";

interface Rule {
  protocol: string;
  fromPort: number;
  toPort: number;
  cidrBlocks: string[];
}

const ROLES = { hub1: "wg-mesh:index:Hub", pop1: "wg-mesh:index:Pop", app1: "wg-mesh:index:Backend" } as const;

let cached: MockRun | undefined;
async function aws(): Promise<MockRun> {
  cached ??= await runMesh(oneCloudSpec("aws"));
  return cached;
}

function sgOf(run: MockRun, node: string): { ingress: Rule[]; egress: Rule[] } {
  const sg = one(run, "aws:ec2/securityGroup:SecurityGroup", `${node}-sg`);
  return { ingress: input<Rule[]>(sg, "ingress"), egress: input<Rule[]>(sg, "egress") };
}

test("each role is its own component with one wg-mesh:aws:Host beneath it, holding the node's AWS resources", async () => {
  const run = await aws();
  for (const [node, type] of Object.entries(ROLES)) {
    const component = one(run, type, node);
    const host = one(run, "wg-mesh:aws:Host", node);
    assert.equal(parentOf(run, host)?.urn, component.urn);
    const types = resourcesOf(run, node).map((r) => r.type).sort();
    assert.deepEqual(types, [
      "aws:ec2/eip:Eip",
      "aws:ec2/eipAssociation:EipAssociation",
      "aws:ec2/instance:Instance",
      "aws:ec2/securityGroup:SecurityGroup",
      "aws:iam/instanceProfile:InstanceProfile",
      "aws:iam/role:Role",
      "aws:iam/rolePolicy:RolePolicy",
      "aws:secretsmanager/secret:Secret",
      "aws:secretsmanager/secret:Secret",
      "aws:secretsmanager/secretVersion:SecretVersion",
      "aws:secretsmanager/secretVersion:SecretVersion",
      "random:index/randomBytes:RandomBytes",
      "wg-mesh:aws:Host",
    ]);
  }
});

test("the WireGuard port admits each peer's IP as /32, or the world on the hub, whose laptop peer sits behind NAT", async () => {
  const run = await aws();
  const ips = publicIps(run);
  const wg = (node: string): Rule[] => sgOf(run, node).ingress.filter((r) => r.protocol === "udp");
  assert.deepEqual(wg("hub1"), [{ description: "WireGuard", protocol: "udp", fromPort: 51820, toPort: 51820, cidrBlocks: ["0.0.0.0/0"] }]);
  assert.deepEqual(wg("pop1")[0]?.cidrBlocks, [`${ips.app1}/32`, `${ips.hub1}/32`].sort());
  assert.deepEqual(wg("app1")[0]?.cidrBlocks, [`${ips.hub1}/32`, `${ips.pop1}/32`].sort());
  for (const node of Object.keys(ROLES)) assert.equal(wg(node).length, 1, node);
});

test("SSH only from adminCidrs, nothing else inbound, and egress open (the provider drops AWS's default)", async () => {
  const run = await aws();
  for (const node of Object.keys(ROLES)) {
    const { ingress, egress } = sgOf(run, node);
    assert.deepEqual(
      ingress.filter((r) => r.protocol !== "udp"),
      [{ description: "SSH", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["203.0.113.0/24"] }],
      node,
    );
    assert.deepEqual(ingress.map((r) => r.protocol).sort(), ["tcp", "udp"], `${node}: exactly two inbound rules`);
    assert.deepEqual(egress, [{ description: "all", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }]);
  }
});

test("without adminCidrs there is no SSH rule at all, and the SSH hint says port 22 is closed", async () => {
  const run = await runMesh(oneCloudSpec("aws", { adminCidrs: [] }));
  for (const node of Object.keys(ROLES)) {
    assert.deepEqual(sgOf(run, node).ingress.map((r) => r.protocol), ["udp"], node);
    const report = (run.outputs.nodes as Record<string, { ssh: string }>)[node];
    assert.match(report?.ssh ?? "", /^port 22 is closed \(adminCidrs is empty\)/);
  }
});

test("instances require IMDSv2, encrypt the root volume, boot Ubuntu LTS and take the bootstrap as plain user data, whose later changes they ignore", async () => {
  const run = await aws();
  for (const node of Object.keys(ROLES)) {
    const vm = one(run, "aws:ec2/instance:Instance", `${node}-vm`);
    assert.deepEqual(input(vm, "metadataOptions"), { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });
    assert.equal(input<{ encrypted: boolean }>(vm, "rootBlockDevice").encrypted, true);
    assert.equal(input(vm, "ami"), MOCK_AMI);
    assert.equal(input(vm, "userDataReplaceOnChange"), false);
    const vault = vaultLocatorFor({ name: node, cloud: "aws", aws: { region: "eu-west-1" } }, PROJECT, "test") as VaultLocator;
    assert.equal(input(vm, "userDataBase64"), undefined, "plain text: the bootstrap is a few KB");
    assert.equal(input(vm, "userData"), renderCloudInit({ node, vault }));
    // A running instance has no use for new user data; replacing or restarting it for one would cut its tunnels.
    assert.deepEqual(vm.ignoreChanges, ["ami", "userData", "userDataBase64"]);
    assert.equal(input(vm, "instanceType"), node === "app1" ? "t3.micro" : "t3.small", "hubs and POPs carry traffic: one size up");
    // EC2 launches T3 as unlimited unless told: a forwarding hub would be billed for surplus credits.
    assert.deepEqual(input(vm, "creditSpecification"), { cpuCredits: "standard" }, `${node}: standard CPU credits, never unlimited by surprise`);
    assert.deepEqual(input(vm, "vpcSecurityGroupIds"), [one(run, "aws:ec2/securityGroup:SecurityGroup", `${node}-sg`).id]);
    assert.equal(input(vm, "iamInstanceProfile"), one(run, "aws:iam/instanceProfile:InstanceProfile", `${node}-profile`).id);
  }
  assert.deepEqual(run.cloud.unknownCalls, [], "every invoke the program makes is one the mocks know");
  for (const call of run.cloud.calls.filter((c) => c.token === "aws:ec2/getAmi:getAmi")) {
    assert.deepEqual(call.inputs.owners, ["099720109477"], "Canonical's images only");
    assert.equal(call.inputs.mostRecent, true);
  }
});

function amiPatterns(run: MockRun): string[] {
  return run.cloud.calls
    .filter((c) => c.token === "aws:ec2/getAmi:getAmi")
    .map((c) => ((c.inputs.filters as { name: string; values: string[] }[]).find((f) => f.name === "name")?.values[0] ?? "") as string);
}

test("a chosen AMI, instance type, VPC and subnet are used as given; an Arm type gets the Arm image", async () => {
  const spec = oneCloudSpec("aws");
  const custom = spec.nodes.map((n) =>
    n.name === "app1" ? { ...n, aws: { region: "eu-west-1", ami: "ami-0c0c0c0c0c0c0c0c0", instanceType: "m7i.large", vpcId: "vpc-0a0a0a0a", subnetId: "subnet-0b0b0b0b" } } : n.name === "pop1" ? { ...n, aws: { region: "eu-west-1", instanceType: "t4g.small" } } : n,
  );
  const run = await runMesh({ ...spec, nodes: custom });
  const vm = one(run, "aws:ec2/instance:Instance", "app1-vm");
  assert.equal(input(vm, "ami"), "ami-0c0c0c0c0c0c0c0c0");
  assert.equal(input(vm, "instanceType"), "m7i.large");
  assert.equal(input(vm, "subnetId"), "subnet-0b0b0b0b");
  assert.equal(input(one(run, "aws:ec2/securityGroup:SecurityGroup", "app1-sg"), "vpcId"), "vpc-0a0a0a0a");
  // The default-VPC nodes name no subnet (EC2 picks the default VPC's); their security group names the VPC it looked up.
  const hub = one(run, "aws:ec2/instance:Instance", "hub1-vm");
  assert.equal(hub.inputs.subnetId, undefined);
  assert.equal(input(one(run, "aws:ec2/securityGroup:SecurityGroup", "hub1-sg"), "vpcId"), "vpc-default-eu-west-1");
  assert.equal(input(one(run, "aws:ec2/instance:Instance", "pop1-vm"), "instanceType"), "t4g.small");
  assert.deepEqual(input(one(run, "aws:ec2/instance:Instance", "pop1-vm"), "creditSpecification"), { cpuCredits: "standard" }, "a chosen T4g is held to standard credits too");
  assert.equal(vm.inputs.creditSpecification, undefined, "a non-burstable type has no credits to specify (EC2 refuses the setting)");
  assert.deepEqual(amiPatterns(run).sort(), [
    "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
    "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*",
  ], "one lookup per node without a chosen AMI, matching its architecture");
});

test("IAM: each role is assumable by EC2 only and may call GetSecretValue on exactly its own node's two secrets, the config and the agent", async () => {
  const run = await aws();
  const secrets = ofType(run, "aws:secretsmanager/secret:Secret");
  for (const node of Object.keys(ROLES)) {
    const role = one(run, "aws:iam/role:Role", `${node}-role`);
    assert.deepEqual(JSON.parse(input<string>(role, "assumeRolePolicy")), {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
    assert.equal(role.inputs.managedPolicyArns, undefined, "no managed policy");
    assert.equal(role.inputs.inlinePolicies, undefined, "no other inline policy");

    const policies = ofType(run, "aws:iam/rolePolicy:RolePolicy").filter((p) => p.parent === role.parent);
    assert.equal(policies.length, 1);
    const policy = policies[0] as RecordedResource;
    assert.equal(input(policy, "role"), role.id, "attached to this node's role");
    const doc = JSON.parse(input<string>(policy, "policy")) as { Statement: { Effect: string; Action: unknown; Resource: unknown }[] };
    const own = [one(run, "aws:secretsmanager/secret:Secret", `${node}-wg0`), one(run, "aws:secretsmanager/secret:Secret", `${node}-agent`)];
    assert.equal(doc.Statement.length, 1);
    assert.equal(doc.Statement[0]?.Effect, "Allow");
    assert.equal(doc.Statement[0]?.Action, "secretsmanager:GetSecretValue");
    const resources = doc.Statement[0]?.Resource as string[];
    assert.ok(Array.isArray(resources) && resources.length === 2, "the two ARNs, no wildcard");
    own.forEach((secret, i) => {
      const arn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${input<string>(secret, "name")}`;
      assert.ok(resources[i]?.startsWith(`${arn}-`), `${node}: ${resources[i]}`);
    });
    assert.ok(!resources.some((r) => r.includes("*")));
    for (const other of secrets.filter((s) => !own.includes(s))) assert.ok(!resources.some((r) => r.includes(`/${input<string>(other, "name").split("/")[2]}/`)));
    assert.equal(input(one(run, "aws:iam/instanceProfile:InstanceProfile", `${node}-profile`), "role"), role.id, "the profile carries this role");
  }
  assert.deepEqual(ofType(run, "aws:iam/rolePolicy:RolePolicy").length, Object.keys(ROLES).length, "no policy beyond one per node");
});

test("the two secrets are named as the bootstrap fetches them, replaced delete-first; the agent is written before the config that names it", async () => {
  const run = await aws();
  const agent = renderAgentBundle();
  for (const node of Object.keys(ROLES)) {
    const secret = one(run, "aws:secretsmanager/secret:Secret", `${node}-wg0`);
    assert.equal(input(secret, "name"), awsSecretName({ project: PROJECT, stack: "test", node }));
    assert.equal(input(secret, "recoveryWindowInDays"), 0);
    assert.equal(secret.deleteBeforeReplace, true);
    const agentSecret = one(run, "aws:secretsmanager/secret:Secret", `${node}-agent`);
    assert.equal(input(agentSecret, "name"), awsAgentSecretName({ project: PROJECT, stack: "test", node }));
    assert.equal(agentSecret.deleteBeforeReplace, true);
    const version = one(run, "aws:secretsmanager/secretVersion:SecretVersion", `${node}-wg0`);
    const agentVersion = one(run, "aws:secretsmanager/secretVersion:SecretVersion", `${node}-agent`);
    const payload = parsePayload(input<string>(version, "secretString"));
    assert.equal(payload.node, node);
    assert.match(payload.config, new RegExp(`^# ${node} \\(`));
    assert.deepEqual(payload.agent, { version: agent.version, sha256: agent.sha256, bytes: agent.bytes, parts: 1 });
    assert.equal(input(agentVersion, "secretString"), agent.value);
    assert.ok(version.dependencies.includes(agentVersion.urn), "the config waits for the agent it names");
  }
});

test("one aws.Provider per region, shared by the nodes there, and every AWS resource goes through it", async () => {
  const spec = oneCloudSpec("aws");
  const nodes = spec.nodes.map((n) => (n.name === "app1" ? { ...n, aws: { region: "ap-northeast-1" } } : n));
  const run = await runMesh({ ...spec, nodes });
  const providers = ofType(run, "pulumi:providers:aws");
  assert.deepEqual(providers.map((p) => [p.name, input(p, "region")]), [
    ["mesh-aws-eu-west-1", "eu-west-1"],
    ["mesh-aws-ap-northeast-1", "ap-northeast-1"],
  ]);
  for (const r of run.resources.filter((x) => x.type.startsWith("aws:"))) {
    const node = nodeOf(r.name, /$^/).split("-")[0] as string;
    assert.equal(r.provider, node === "app1" ? "mesh-aws-ap-northeast-1" : "mesh-aws-eu-west-1", `${r.type} ${r.name}`);
  }
});

test("the Elastic IP stands apart from the instance and is attached by an association, so peers never wait on a VM", async () => {
  const run = await aws();
  for (const node of Object.keys(ROLES)) {
    const eip = one(run, "aws:ec2/eip:Eip", `${node}-ip`);
    assert.equal(eip.inputs.instance, undefined);
    assert.equal(input(eip, "domain"), "vpc");
    const assoc = one(run, "aws:ec2/eipAssociation:EipAssociation", `${node}-ip`);
    assert.match(input<string>(assoc, "allocationId"), /^eipalloc-/);
    assert.match(input<string>(assoc, "instanceId"), /^i-/);
  }
});
