/**
 * `wgmesh synth` as a dry run of `pulumi up`: the program's own refusals, and what the clouds would
 * refuse (names, user data sizes), all reported at once, one line each; `--json` shows what each
 * resource would send to its cloud, secret values masked.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cloudProblems } from "../../stacks/synth/checks";
import type { RecordedResource } from "../../stacks/synth/run";
import type { SynthJson } from "../../stacks/synth/tree";
import { REPO } from "../support/pulumi";

const BIN = join(REPO, "cli", "bin.js");

function wgmesh(args: string[], cwd = REPO): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("synth --json: each resource's inputs as they would be sent, secret values as [secret]", () => {
  const r = wgmesh(["synth", "--stack", "prod", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as SynthJson;
  const find = (type: string, name: string): SynthJson["resources"][number] => {
    const found = s.resources.find((x) => x.type === type && x.name === name);
    assert.ok(found, `${type} ${name}`);
    return found;
  };
  assert.equal(find("aws:secretsmanager/secretVersion:SecretVersion", "mesh-ireland-wg0").inputs.secretString, "[secret]");
  assert.equal(find("gcp:secretmanager/secretVersion:SecretVersion", "mesh-hkg-wg0").inputs.secretData, "[secret]");
  assert.equal(find("azure:keyvault/secret:Secret", "mesh-lhr-wg0").inputs.value, "[secret]");
  assert.equal(find("aws:ec2/instance:Instance", "mesh-ireland-vm").inputs.instanceType, "t3.small");
  assert.match(String(find("aws:ec2/instance:Instance", "mesh-ireland-vm").inputs.userData), /^#cloud-config\n/);
  assert.equal(find("aws:secretsmanager/secretVersion:SecretVersion", "mesh-ireland-agent").inputs.secretString, "[secret]");
  assert.deepEqual(find("tls:index/privateKey:PrivateKey", "mesh-lhr-login-key").inputs, { algorithm: "RSA", rsaBits: 4096 });
  assert.equal(find("gcp:projects/service:Service", "mesh-edgeproxy-prod-compute-api").inputs.service, "compute.googleapis.com");
  assert.ok(s.resources.every((x) => typeof x.inputs === "object"), "every resource carries its inputs");
  assert.doesNotMatch(r.stdout, /PrivateKey = |PresharedKey = |BEGIN [A-Z ]*PRIVATE KEY/, "no key in what synth prints");
});

test("synth refuses what pulumi up would, every problem at once, one line each, exit 2", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-synth-checks-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "Pulumi.yaml"), "name: wg-mesh\nruntime: nodejs\n");
  // Two Azure nodes asking for Arm sizes with an x64 Ubuntu image: each would fail on its own VM.
  const prod = readFileSync(join(REPO, "Pulumi.prod.yaml"), "utf8")
    .replace("azure: { location: uksouth }", "azure: { location: uksouth, vmSize: Standard_D2ps_v5, image: 'Canonical:ubuntu-24_04-lts:server:latest' }")
    .replace("azure: { location: australiaeast }", "azure: { location: australiaeast, vmSize: Standard_E2ps_v5, image: 'Canonical:ubuntu-24_04-lts:server:latest' }");
  writeFileSync(join(dir, "Pulumi.arm.yaml"), prod);
  const r = wgmesh(["synth", "--stack", "arm"], dir);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, "");
  assert.deepEqual(r.stderr.trim().split("\n"), [
    "nodes.lhr.azure.image: Standard_D2ps_v5 is an Arm size and server an x64 image: use an -arm64 SKU (Canonical:ubuntu-24_04-lts:server-arm64:latest) or leave image out",
    "nodes.syd.azure.image: Standard_E2ps_v5 is an Arm size and server an x64 image: use an -arm64 SKU (Canonical:ubuntu-24_04-lts:server-arm64:latest) or leave image out",
    "2 problems in stack arm, as pulumi up would report them; nothing was written",
  ]);
});

function resource(type: string, name: string, inputs: Record<string, unknown>): RecordedResource {
  return { order: 0, urn: `urn:pulumi:s::p::${type}::${name}`, aliases: [], type, name, custom: true, dependencies: [], deleteBeforeReplace: false, inputs };
}

test("the clouds' rules over recorded resources: a name given, a prefix given, the provider's own choice, and user data size", () => {
  const issues = cloudProblems([
    resource("aws:ec2/securityGroup:SecurityGroup", "sg-edge-sg", {}),
    resource("aws:ec2/securityGroup:SecurityGroup", "edge-sg", { namePrefix: "sg-edge-" }),
    resource("aws:iam/role:Role", "edge-role", { name: "r".repeat(65) }),
    resource("gcp:compute/instance:Instance", "Edge-vm", { metadata: { "user-data": "#cloud-config\n" } }),
    resource("azure:keyvault/keyVault:KeyVault", "edge-kv", { name: "wgm--edge" }),
    resource("aws:ec2/instance:Instance", "edge-vm", { userData: `#cloud-config\n# ${"x".repeat(16_400)}\n` }),
    resource("azure:compute/linuxVirtualMachine:LinuxVirtualMachine", "edge-vm", { customData: Buffer.from("#cloud-config\n").toString("base64") }),
  ]);
  assert.deepEqual(
    issues.map((i) => `${i.path}: ${i.message}`),
    [
      `sg-edge-sg: aws:ec2/securityGroup:SecurityGroup: AWS security group name "sg-edge-sg-0000000": it must not start with sg- (the provider's own name plus its random suffix)`,
      `edge-sg: aws:ec2/securityGroup:SecurityGroup: AWS security group name "sg-edge-${"0".repeat(26)}": it must not start with sg- (the name prefix given plus its random suffix)`,
      `edge-role: aws:iam/role:Role: AWS IAM role name "${"r".repeat(65)}": 65 characters, the limit is 1-64`,
      `Edge-vm: gcp:compute/instance:Instance: GCP instance name "Edge-vm-0000000": use lowercase letters, digits and -, starting with a letter, not ending with - (the provider's own name plus its random suffix)`,
      `edge-kv: azure:keyvault/keyVault:KeyVault: Azure Key Vault name "wgm--edge": use letters, digits and -, starting with a letter, ending with a letter or digit, no --`,
      "edge-vm: aws:ec2/instance:Instance: its user data is 16,417 bytes, over AWS user data (16 KB): at most 16,384 bytes; shorten the project, stack or node name",
    ],
  );
});

test("synth warns for a documentation range, once, and still synthesizes", () => {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-synth-docrange-"));
  try {
    writeFileSync(join(dir, "Pulumi.yaml"), "name: wg-mesh\nruntime: nodejs\n");
    writeFileSync(join(dir, "Pulumi.docs.yaml"), readFileSync(join(REPO, "Pulumi.staging.yaml"), "utf8").replace("- 10.255.0.0/24", "- 203.0.113.0/24"));
    const r = wgmesh(["synth", "--stack", "docs", "--json"], dir);
    assert.equal(r.code, 0, r.stderr);
    const warnings = (JSON.parse(r.stdout) as SynthJson).warnings;
    assert.equal(warnings.filter((w) => w.includes("adminCidrs[0]: 203.0.113.0/24 is in TEST-NET-3 (203.0.113.0/24, RFC 5737)")).length, 1, warnings.join("\n"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
