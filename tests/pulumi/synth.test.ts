/** `wgmesh synth` as a user runs it: the tree of components and per-cloud resources, counts, errors. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import type { SynthJson } from "../../stacks/synth/tree";
import { REPO } from "../support/pulumi";

const BIN = join(REPO, "cli", "bin.js");

function wgmesh(args: string[], cwd = REPO): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const HOST_RESOURCES: Record<string, string[]> = {
  aws: ["aws:ec2/eip:Eip", "aws:ec2/eipAssociation:EipAssociation", "aws:ec2/instance:Instance", "aws:ec2/securityGroup:SecurityGroup", "aws:iam/instanceProfile:InstanceProfile", "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:secretsmanager/secret:Secret", "aws:secretsmanager/secretVersion:SecretVersion"],
  gcp: ["gcp:compute/address:Address", "gcp:compute/firewall:Firewall", "gcp:compute/instance:Instance", "gcp:secretmanager/secret:Secret", "gcp:secretmanager/secretIamMember:SecretIamMember", "gcp:secretmanager/secretVersion:SecretVersion", "gcp:serviceaccount/account:Account"],
  azure: [
    "azure:compute/linuxVirtualMachine:LinuxVirtualMachine",
    "azure:core/resourceGroup:ResourceGroup",
    "azure:keyvault/accessPolicy:AccessPolicy",
    "azure:keyvault/keyVault:KeyVault",
    "azure:keyvault/secret:Secret",
    "azure:network/networkInterface:NetworkInterface",
    "azure:network/networkInterfaceSecurityGroupAssociation:NetworkInterfaceSecurityGroupAssociation",
    "azure:network/networkSecurityGroup:NetworkSecurityGroup",
    "azure:network/publicIp:PublicIp",
    "azure:network/subnet:Subnet",
    "azure:network/virtualNetwork:VirtualNetwork",
    "random:index/randomString:RandomString",
    "tls:index/privateKey:PrivateKey",
  ],
};
const ROLE_TYPE = { hub: "wg-mesh:index:Hub", pop: "wg-mesh:index:Pop", backend: "wg-mesh:index:Backend" } as const;

function prodNodes(): Record<string, { role: keyof typeof ROLE_TYPE; cloud: string }> {
  const doc = parse(readFileSync(join(REPO, "Pulumi.prod.yaml"), "utf8")) as { config: { "wg-mesh:mesh": { nodes: Record<string, { role: keyof typeof ROLE_TYPE; cloud: string }> } } };
  return doc.config["wg-mesh:mesh"].nodes;
}

test("synth --stack prod --json: one component per node, its host beneath it, the cloud's resources beneath the host", () => {
  const r = wgmesh(["synth", "--stack", "prod", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as SynthJson;
  const byUrn = new Map(s.resources.map((x) => [x.urn, x]));
  const stack = s.resources.find((x) => x.type === "pulumi:pulumi:Stack");
  const mesh = s.resources.filter((x) => x.type === "wg-mesh:index:Mesh");
  assert.deepEqual(mesh.map((m) => [m.name, m.parent]), [["mesh", stack?.urn]], "one Mesh, at the stack's root");
  for (const [node, decl] of Object.entries(prodNodes())) {
    const name = `mesh-${node}`;
    const components = s.resources.filter((x) => x.name === name && x.type === ROLE_TYPE[decl.role]);
    assert.equal(components.length, 1, `${name}: one ${ROLE_TYPE[decl.role]}`);
    const component = components[0] as SynthJson["resources"][number];
    assert.equal(component.parent, mesh[0]?.urn);
    const host = s.resources.filter((x) => x.parent === component.urn && x.type === `wg-mesh:${decl.cloud}:Host`);
    assert.equal(host.length, 1, `${name}: one wg-mesh:${decl.cloud}:Host`);
    const beneath = s.resources.filter((x) => x.parent === host[0]?.urn);
    assert.deepEqual([...new Set(beneath.map((x) => x.type))].sort(), HOST_RESOURCES[decl.cloud], name);
    for (const x of beneath) assert.equal(byUrn.get(x.parent ?? "")?.name, name);
    if (decl.cloud === "aws") assert.ok(beneath.every((x) => x.provider?.startsWith("mesh-aws-")), `${name}: explicit regional provider`);
  }
  assert.equal(Object.values(s.counts).reduce((a, b) => a + b, 0), s.total);
  assert.equal(s.total, s.resources.length);
  assert.equal(s.outputs.externalConfigs, "[secret]");
  assert.equal((s.outputs.summary as { reachable: string }).reachable, "132 of 132 ordered pairs reachable");
});

test("synth --stack prod prints the tree with each node's host and resources indented beneath it, then counts per type", () => {
  const r = wgmesh(["synth", "--stack", "prod"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  assert.match(lines[0] ?? "", /^Stack prod \(project wg-mesh\) under Pulumi's mock runtime: \d+ resources/);
  assert.ok(lines.includes("pulumi:pulumi:Stack  wg-mesh-prod"));
  assert.equal(lines[lines.indexOf("pulumi:pulumi:Stack  wg-mesh-prod") + 1], "└─ wg-mesh:index:Mesh  mesh");
  const hub = lines.indexOf("   ├─ wg-mesh:index:Hub  mesh-ireland");
  assert.ok(hub > 0, r.stdout.slice(0, 2000));
  assert.equal(lines[hub + 1], "   │  ├─ random:index/randomBytes:RandomBytes  mesh-ireland-key");
  assert.equal(lines[hub + 2], "   │  └─ wg-mesh:aws:Host  mesh-ireland");
  assert.equal(lines[hub + 3], "   │     ├─ aws:ec2/eip:Eip  mesh-ireland-ip  (provider mesh-aws-eu-west-1)");
  for (const [name, node] of Object.entries(prodNodes())) assert.ok(lines.some((l) => l.endsWith(`${ROLE_TYPE[node.role]}  mesh-${name}`)), name);
  const counts = lines.indexOf("Resources by type");
  assert.ok(counts > hub);
  assert.ok(lines.slice(counts + 1).some((l) => /^\s+12\s+random:index\/randomBytes:RandomBytes$/.test(l)));
  assert.match(r.stdout, /Outputs: externalConfigs, keyRotation, mesh, nodes, summary \(132 of 132 ordered pairs reachable\)/);
});

test("unknown stack: one line, exit 1; a broken config: one line per problem by path, exit 2", (t) => {
  const missing = wgmesh(["synth", "--stack", "nope"]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stdout, "");
  assert.match(missing.stderr, /^wgmesh: --stack nope: no Pulumi\.nope\.yaml in .*; stacks here: .*prod.*\n$/);

  const dir = mkdtempSync(join(tmpdir(), "wgmesh-synth-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "Pulumi.yaml"), "name: wg-mesh\nruntime: nodejs\n");
  writeFileSync(
    join(dir, "Pulumi.bad.yaml"),
    "config:\n  wg-mesh:mesh:\n    overlay: 10.50.0.0/16\n    topology: regional\n    hub: ireland\n    regions:\n      central: { subnet: 10.50.0.0/24 }\n    nodes:\n      ireland: { role: hub, region: central, site: dub, address: 10.50.1.1, cloud: aws, aws: { region: eu-west-1 } }\n",
  );
  const bad = wgmesh(["synth", "--stack", "bad"], dir);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, "");
  assert.ok(!bad.stderr.includes("    at "), "no stack trace");
  assert.match(bad.stderr, /^nodes\.ireland\.address: 10\.50\.1\.1 is outside region central/m);
});

test("peer stacks cannot be read offline: synth takes them as not deployed and says so", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-synth-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "Pulumi.yaml"), "name: wg-mesh\nruntime: nodejs\n");
  const prod = readFileSync(join(REPO, "Pulumi.prod.yaml"), "utf8").replace("    keyEpoch: 1", "    keyEpoch: 1\n    peerStacks: [acme/wg-mesh/apac]");
  writeFileSync(join(dir, "Pulumi.eu.yaml"), prod);
  const r = wgmesh(["synth", "--stack", "eu"], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\n {2}peerStacks\[0\] \(acme\/wg-mesh\/apac\): has no mesh output yet/);
  assert.match(r.stdout, /pulumi:pulumi:StackReference {2}mesh-acme\/wg-mesh\/apac/);
});
