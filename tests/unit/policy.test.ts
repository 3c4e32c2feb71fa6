/**
 * Each policy of the pack (policy/policies.ts) on resources that keep the components' promise and
 * on ones that break it, run through the harness the way the policy runtime calls them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as p from "../../policy/policies";
import { runPolicies, type AnyPolicy, type HarnessResource } from "../support/policy-harness";
import { gzipSync } from "node:zlib";
import { renderCloudInit } from "../../infra/render/cloudinit";
import { vaultLocatorFor, type VaultLocator } from "../../infra/vault";
import { AGENT_MAX_PARTS, agentPartNames } from "../../infra/render/agent-parts";

const STACK = "urn:pulumi:prod::wg-mesh::pulumi:pulumi:Stack::wg-mesh-prod";

function meshNode(name: string, publicIp: string | null, cloud: "aws" | "gcp" | "azure" | "external" = "aws"): HarnessResource[] {
  const node: HarnessResource = { urn: `urn:node:${name}`, type: "wg-mesh:index:Backend", name, parent: STACK, custom: false, props: { publicIp, endpoint: publicIp ? `${publicIp}:51820` : null } };
  return cloud === "external" ? [node] : [node, { urn: `urn:host:${name}`, type: `wg-mesh:${cloud}:Host`, name, parent: node.urn, custom: false, props: {} }];
}

function child(node: string, type: string, name: string, props: Record<string, unknown>, cloudHost = true): HarnessResource {
  return { urn: `urn:${type}:${name}`, type, name, parent: cloudHost ? `urn:host:${node}` : `urn:node:${node}`, custom: true, props };
}

const sg = (node: string, ingress: Record<string, unknown>[]): HarnessResource => child(node, "aws:ec2/securityGroup:SecurityGroup", `${node}-sg`, { ingress });
const wg = (cidrBlocks: string[]): Record<string, unknown> => ({ description: "WireGuard", protocol: "udp", fromPort: 51820, toPort: 51820, cidrBlocks });
const ssh = (cidrBlocks: string[]): Record<string, unknown> => ({ description: "SSH", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks });

async function violations(policy: AnyPolicy, resources: HarnessResource[], config: Record<string, unknown> = {}): Promise<string[]> {
  return (await runPolicies([policy], resources, { [policy.name]: config })).map((v) => `${v.resource}: ${v.message}`);
}

test("wg-no-world-ingress: WireGuard open to the world only with a peer behind NAT; nothing else ever", async () => {
  const open = [...meshNode("ireland", "198.18.0.1"), sg("ireland", [wg(["0.0.0.0/0"])])];
  assert.deepEqual(await violations(p.noWorldIngress, [...open, ...meshNode("laptop", null, "external")]), []);
  const [v] = await violations(p.noWorldIngress, open);
  assert.match(v ?? "", /ireland-sg ingress\[0\]: admits 0\.0\.0\.0\/0 \(udp 51820\); every peer of this node has a fixed IP and they fit one rule/);
  const sshWorld = [...meshNode("ireland", "198.18.0.1"), ...meshNode("laptop", null, "external"), sg("ireland", [ssh(["0.0.0.0/0"])])];
  assert.match((await violations(p.noWorldIngress, sshWorld))[0] ?? "", /\(tcp 22\); only the WireGuard UDP port may ever be open/);
  const gcpAll = child("fra", "gcp:compute/firewall:Firewall", "fra-open", { direction: "INGRESS", allows: [{ protocol: "all" }], sourceRanges: ["0.0.0.0/0"] });
  assert.equal((await violations(p.noWorldIngress, [...meshNode("fra", "198.18.0.2", "gcp"), gcpAll])).length, 1);
  // Deny rules and disabled rules admit nothing.
  const deny = child("fra", "gcp:compute/firewall:Firewall", "fra-deny", { direction: "INGRESS", denies: [{ protocol: "all" }], sourceRanges: ["0.0.0.0/0"] });
  const azureDeny = child("lhr", "azure:network/networkSecurityGroup:NetworkSecurityGroup", "lhr-nsg", { securityRules: [{ name: "deny", direction: "Inbound", access: "Deny", protocol: "*", destinationPortRange: "*", sourceAddressPrefix: "*" }] });
  assert.deepEqual(await violations(p.noWorldIngress, [...meshNode("fra", "198.18.0.2", "gcp"), deny, azureDeny]), []);
  const azureOpen = child("lhr", "azure:network/networkSecurityGroup:NetworkSecurityGroup", "lhr-nsg", { securityRules: [{ name: "rdp", direction: "Inbound", access: "Allow", protocol: "Tcp", destinationPortRange: "3389", sourceAddressPrefix: "Internet" }] });
  assert.match((await violations(p.noWorldIngress, [azureOpen]))[0] ?? "", /lhr-nsg securityRules\[0\] rdp: admits Internet \(tcp 3389\)/);
});

test("wg-ssh-admin-only: SSH from the admin CIDRs only", async () => {
  const ok = sg("ireland", [ssh(["203.0.113.0/24"])]);
  assert.deepEqual(await violations(p.sshAdminOnly, [ok], { adminCidrs: ["203.0.113.0/24"] }), []);
  assert.deepEqual(await violations(p.sshAdminOnly, [sg("ireland", [ssh(["203.0.113.0/24", "198.51.100.7/32"])])], { adminCidrs: ["203.0.113.0/24"] }), [
    "ireland-sg: ingress[0]: SSH admits 198.51.100.7/32, which is not in adminCidrs (203.0.113.0/24)",
  ]);
  assert.deepEqual(await violations(p.sshAdminOnly, [sg("ireland", [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }])]), [
    "ireland-sg: ingress[0]: SSH is open to 0.0.0.0/0; list the admin CIDRs instead",
  ]);
  const azure = child("lhr", "azure:network/networkSecurityGroup:NetworkSecurityGroup", "lhr-nsg", { securityRules: [{ name: "ssh", direction: "Inbound", access: "Allow", protocol: "Tcp", destinationPortRange: "20-25", sourceAddressPrefixes: ["10.9.0.0/16"] }] });
  assert.equal((await violations(p.sshAdminOnly, [azure], { adminCidrs: ["203.0.113.0/24"] })).length, 1);
});

test("wg-imdsv2 and wg-disk-encrypted on EC2", async () => {
  const vm = (props: Record<string, unknown>): HarnessResource => child("iad", "aws:ec2/instance:Instance", "iad-vm", props);
  const good = { metadataOptions: { httpTokens: "required" }, rootBlockDevice: { encrypted: true } };
  assert.deepEqual(await violations(p.imdsv2, [vm(good)]), []);
  assert.deepEqual(await violations(p.imdsv2, [vm({ metadataOptions: { httpTokens: "optional" } })]), ['iad-vm: metadataOptions.httpTokens is "optional"; set it to "required" (IMDSv2 only)']);
  assert.deepEqual(await violations(p.disksEncrypted, [vm(good)]), []);
  assert.deepEqual(await violations(p.disksEncrypted, [vm({ rootBlockDevice: { encrypted: false }, ebsBlockDevices: [{ deviceName: "/dev/sdf", encrypted: true }] })]), ["iad-vm: rootBlockDevice.encrypted is not true; encrypt the root disk"]);
  assert.equal((await violations(p.disksEncrypted, [child("iad", "aws:ebs/volume:Volume", "data", { size: 8 })])).length, 1);
});

test("wg-vault-read-one-secret: GetSecretValue on one node's own config and agent ARNs only; the secret, not the project; Key Vault Get only", async () => {
  const rp = (statement: unknown): HarnessResource => child("iad", "aws:iam/rolePolicy:RolePolicy", "iad-read-wg0", { policy: JSON.stringify({ Version: "2012-10-17", Statement: [statement] }) });
  const arnOf = (name: string): string => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
  const arn = arnOf("wg-mesh/prod/iad/wg0.conf");
  const agent = arnOf("wg-mesh/prod/iad/agent");
  const get = (Resource: unknown): unknown => ({ Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource });
  assert.deepEqual(await violations(p.vaultReadOneSecret, [rp(get(arn))]), [], "a stack deployed before agents");
  assert.deepEqual(await violations(p.vaultReadOneSecret, [rp(get([arn, agent]))]), [], "the config and the agent");
  // The agent in parts (infra/render/agent-parts.ts): every part's ARN, up to AGENT_MAX_PARTS.
  const parts = agentPartNames("wg-mesh/prod/iad/agent", AGENT_MAX_PARTS).map(arnOf);
  assert.deepEqual(await violations(p.vaultReadOneSecret, [rp(get([arn, ...parts.slice(0, 2)]))]), [], "the config and the agent in 2 parts");
  assert.deepEqual(await violations(p.vaultReadOneSecret, [rp(get([arn, ...parts]))]), [], `the config and the agent in ${AGENT_MAX_PARTS} parts`);
  const refused = "iad-read-wg0: grants secretsmanager:GetSecretValue on";
  for (const [what, resource] of [
    ["everything", "*"],
    ["a wildcard", arnOf("wg-mesh/prod/iad/*")],
    ["another node's agent", [arn, arnOf("wg-mesh/prod/hkg/agent")]],
    ["a secret wg-mesh does not make", [arn, arnOf("wg-mesh/prod/iad/db-password")]],
    ["the same secret twice", [arn, arn]],
    ["a third", [arn, agent, arnOf("wg-mesh/prod/iad/wg0.conf")]],
    ["a part beyond the most", [arn, ...parts, arnOf(`wg-mesh/prod/iad/agent-${AGENT_MAX_PARTS + 1}`)]],
    ["a part twice", [arn, agent, parts[1] as string, parts[1] as string]],
    ["another node's part", [arn, agent, arnOf("wg-mesh/prod/hkg/agent-2")]],
  ] as const) {
    const v = await violations(p.vaultReadOneSecret, [rp(get(resource))]);
    assert.equal(v.length, 1, `${what}: ${v.join("; ")}`);
    assert.ok(v[0]?.startsWith(refused) && v[0].endsWith("; name the exact ARNs of one node's own secrets, <project>/<stack>/<node>/wg0.conf and /agent (with its parts /agent-2 ...)"), `${what}: ${v[0]}`);
  }
  assert.equal((await violations(p.vaultReadOneSecret, [rp({ Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:ListSecrets"], Resource: arn })])).length, 1);
  assert.equal((await violations(p.vaultReadOneSecret, [rp({ Effect: "Allow", Action: "*", Resource: [arn, `${arn}2`] })])).length, 2);
  const project = child("fra", "gcp:projects/iAMMember:IAMMember", "fra-all", { role: "roles/secretmanager.secretAccessor", member: "serviceAccount:x" });
  assert.equal((await violations(p.vaultReadOneSecret, [project])).length, 1);
  const onSecret = child("fra", "gcp:secretmanager/secretIamMember:SecretIamMember", "fra-read-wg0", { role: "roles/secretmanager.secretAccessor", secretId: "s" });
  assert.deepEqual(await violations(p.vaultReadOneSecret, [onSecret]), []);
  const kv = (name: string, props: Record<string, unknown>): HarnessResource => child("lhr", "azure:keyvault/accessPolicy:AccessPolicy", name, props);
  assert.deepEqual(await violations(p.vaultReadOneSecret, [kv("lhr-kv-vm", { secretPermissions: ["Get"] }), kv("lhr-kv-deployer", { secretPermissions: ["Get", "List", "Set", "Delete"] })]), []);
  assert.deepEqual(await violations(p.vaultReadOneSecret, [kv("lhr-kv-vm", { secretPermissions: ["Get", "List"], keyPermissions: ["Get"] })]), [
    "lhr-kv-vm: keyPermissions Get: the vault holds the node's config and agent; grant nothing else",
    "lhr-kv-vm: secretPermissions Get, List: a node reads its config and agent with Get only",
  ]);
});

test("wg-one-secret-per-vault: a node's Key Vault holds its config and its agent, nothing more or less", async () => {
  const vault = child("lhr", "azure:keyvault/keyVault:KeyVault", "lhr-kv", { id: "/vaults/lhr" });
  const secret = (n: string): HarnessResource => child("lhr", "azure:keyvault/secret:Secret", `lhr-${n}`, { keyVaultId: "/vaults/lhr", name: n });
  const fix = "a node's vault holds its wg0-conf and wgmesh-agent (with its parts wgmesh-agent-2 ...) and nothing else";
  assert.deepEqual(await violations(p.oneSecretPerVault, [vault, secret("wg0-conf"), secret("wgmesh-agent")]), []);
  // The agent in parts, as the engine names them: 1..k, k up to AGENT_MAX_PARTS.
  for (let k = 2; k <= AGENT_MAX_PARTS; k++) {
    assert.deepEqual(await violations(p.oneSecretPerVault, [vault, secret("wg0-conf"), ...agentPartNames("wgmesh-agent", k).map(secret)]), [], `${k} parts`);
  }
  assert.deepEqual(await violations(p.oneSecretPerVault, [vault, secret("wg0-conf"), secret("wgmesh-agent"), secret("other")]), [`lhr-kv: lhr-kv holds other, wg0-conf, wgmesh-agent; ${fix}`]);
  assert.deepEqual(await violations(p.oneSecretPerVault, [vault, secret("wg0-conf"), secret("db-password")]), [`lhr-kv: lhr-kv holds db-password, wg0-conf; ${fix}`]);
  assert.deepEqual(await violations(p.oneSecretPerVault, [vault]), [`lhr-kv: lhr-kv holds no secret; ${fix}`]);
  assert.deepEqual(await violations(p.oneSecretPerVault, [vault, secret("wg0-conf"), secret("wgmesh-agent"), secret("wgmesh-agent-3")]), [`lhr-kv: lhr-kv holds wg0-conf, wgmesh-agent, wgmesh-agent-3; ${fix}`], "a gap in the parts");
  assert.deepEqual(await violations(p.oneSecretPerVault, [vault, secret("wg0-conf"), secret("wgmesh-agent-2")]), [`lhr-kv: lhr-kv holds wg0-conf, wgmesh-agent-2; ${fix}`], "no part 1");
  assert.deepEqual(await violations(p.oneSecretPerVault, [vault, ...agentPartNames("wgmesh-agent", 2).map(secret)]), [`lhr-kv: lhr-kv holds wgmesh-agent, wgmesh-agent-2; ${fix}`], "no config");
});

test("wg-no-key-in-user-data: a PrivateKey line or a key-shaped value in user data, metadata or custom data", async () => {
  const key = "gI6EdUSYvn8ugXOt8QQD6Yc+JyiZxIhp3GInSWRfWGE=";
  const aws = (userData: string): HarnessResource => child("iad", "aws:ec2/instance:Instance", "iad-vm", { userData });
  assert.deepEqual(await violations(p.noKeyInUserData, [aws("#cloud-config\npackages: [wireguard-tools]\n")]), []);
  assert.deepEqual(await violations(p.noKeyInUserData, [aws(`#!/bin/bash\ncat >/etc/wireguard/wg0.conf <<EOF\n[Interface]\nPrivateKey = ${key}\nEOF\n`)]), ["iad-vm: userData has a wg-quick PrivateKey line; deliver wg0.conf through the vault"]);
  // Base64 in userDataBase64, as a hand edit might send it.
  const packed = child("iad", "aws:ec2/instance:Instance", "iad-vm", { userDataBase64: Buffer.from(`#cloud-config\nruncmd: [echo "PrivateKey = ${key}" > /etc/wireguard/wg0.conf]\n`).toString("base64") });
  assert.equal((await violations(p.noKeyInUserData, [packed])).length, 1);
  const gcp = child("fra", "gcp:compute/instance:Instance", "fra-vm", { metadata: { "user-data": "#cloud-config\n", "wg-key": key } });
  assert.deepEqual(await violations(p.noKeyInUserData, [gcp]), ["fra-vm: metadata.wg-key holds a value shaped like a WireGuard key; keys belong in the vault only"]);
  const azure = child("lhr", "azure:compute/linuxVirtualMachine:LinuxVirtualMachine", "lhr-vm", { customData: Buffer.from(`x\nPresharedKey = ${key}\n`).toString("base64") });
  assert.equal((await violations(p.noKeyInUserData, [azure])).length, 1);
  // Compression hides nothing: a key in a gz+b64 file, or in user data gzip as a whole, is found.
  const hidden = `#cloud-config\nwrite_files:\n- path: /etc/wireguard/wg0.conf\n  encoding: gz+b64\n  content: ${gzipSync(`[Interface]\nPrivateKey = ${key}\n`).toString("base64")}\n`;
  assert.deepEqual(await violations(p.noKeyInUserData, [aws(hidden)]), ["iad-vm: userData has a wg-quick PrivateKey line; deliver wg0.conf through the vault"]);
  const gzipped = child("iad", "aws:ec2/instance:Instance", "iad-vm", { userDataBase64: gzipSync(`#!/bin/bash\necho 'PresharedKey = ${key}'\n`).toString("base64") });
  assert.equal((await violations(p.noKeyInUserData, [gzipped])).length, 1);
  // wg-mesh's own user data, the bootstrap, is clean.
  for (const node of ["ireland", "gru", "iad", "cdg", "nrt", "hkg"]) {
    const own = renderCloudInit({ node, vault: vaultLocatorFor({ name: node, cloud: "aws", aws: { region: "eu-west-1" } }, "wg-mesh", "prod") as VaultLocator });
    assert.deepEqual(await violations(p.noKeyInUserData, [aws(own)]), [], node);
  }
});

test("wg-wireguard-sources-are-peers: /32s of other nodes of the mesh, never its own, never a stranger", async () => {
  const mesh = [...meshNode("ireland", "198.18.0.1"), ...meshNode("iad", "198.18.0.2"), ...meshNode("office", "192.0.2.10", "external")];
  assert.deepEqual(await violations(p.wireguardSourcesArePeers, [...mesh, sg("ireland", [wg(["198.18.0.2/32", "192.0.2.10/32"])])]), []);
  assert.deepEqual(await violations(p.wireguardSourcesArePeers, [...mesh, sg("ireland", [wg(["198.18.0.1/32", "198.51.100.9/32", "198.18.0.0/16"])])]), [
    "ireland-sg: ireland-sg ingress[0]: WireGuard admits ireland's own IP 198.18.0.1; only its peers dial it",
    "ireland-sg: ireland-sg ingress[0]: WireGuard admits 198.51.100.9, which is no node of this mesh",
    "ireland-sg: ireland-sg ingress[0]: WireGuard admits 198.18.0.0/16; a peer is one /32",
  ]);
  // A peer stack's node is allowed once configured.
  assert.deepEqual(await violations(p.wireguardSourcesArePeers, [...mesh, sg("ireland", [wg(["198.51.100.9/32"])])], { extraPeerIps: ["198.51.100.9"] }), []);
});

test("every policy has a name, a description and a level that configuration can change", () => {
  const names = p.policies.map((x) => x.name);
  assert.equal(new Set(names).size, names.length);
  for (const x of p.policies) {
    assert.ok(x.description.length > 20, x.name);
    assert.ok(x.enforcementLevel === "mandatory" || x.enforcementLevel === "advisory", x.name);
  }
});

test("the pack loads the way `pulumi preview --policy-pack policy` loads it: PulumiPolicy.yaml, package.json main, modules from the project", async () => {
  const { existsSync, readFileSync } = await import("node:fs");
  const { join, resolve } = await import("node:path");
  const dir = resolve(__dirname, "..", "..", "policy");
  assert.match(readFileSync(join(dir, "PulumiPolicy.yaml"), "utf8"), /^runtime: nodejs$/m);
  const main = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { main: string }).main;
  assert.ok(existsSync(join(dir, main)), `${main} exists`);
  // The analyzer resolves the runner from the pack's folder, and the pack its SDK, from the project's node_modules.
  for (const m of ["@pulumi/pulumi/cmd/run-policy-pack", "@pulumi/policy", "typescript"]) assert.ok(require.resolve(m, { paths: [dir] }), m);
  assert.match(readFileSync(join(dir, main), "utf8"), /new PolicyPack\("wg-mesh", \{ enforcementLevel: "mandatory", policies \}\)/);
});

test("wg-ssh-admin-only with adminCidrs configured as [] (SSH closed): any SSH rule is caught; with no config only the world is", async () => {
  const rule = sg("ireland", [ssh(["192.0.2.0/24"])]);
  assert.deepEqual(await violations(p.sshAdminOnly, [rule], { adminCidrs: [] }), ["ireland-sg: ingress[0]: SSH admits 192.0.2.0/24, but adminCidrs is empty, so SSH is closed in this stack"]);
  assert.deepEqual(await violations(p.sshAdminOnly, [rule]), []);
});
