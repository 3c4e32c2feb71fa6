/** Azure hosts under Pulumi's mocks: NSG, VM identity, Key Vault access, networking. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createPublicKey } from "node:crypto";
import { AZURE_DEPLOYER, AZURE_TENANT } from "../../stacks/synth/mock-cloud";
import type { MockRun, RecordedResource } from "../../stacks/synth/run";
import { overlaps, parsePrefix, type Prefix } from "../../infra/cidr";
import { AZURE_LOCK_KEY } from "../../components/hosts/azure-lock-key";
import { renderCloudInit } from "../../infra/render/cloudinit";
import { AZURE_SECRET_NAME, azureVaultName } from "../../infra/vault";
import { input, named, oneCloudSpec, one, ofType, parentOf, publicIps, resourcesOf, runMesh, PROJECT } from "../support/pulumi";

const ROLES = { hub1: "wg-mesh:index:Hub", pop1: "wg-mesh:index:Pop", app1: "wg-mesh:index:Backend" } as const;

interface Rule {
  name: string;
  priority: number;
  direction: string;
  access: string;
  protocol: string;
  destinationPortRange: string;
  sourceAddressPrefix?: string;
  sourceAddressPrefixes?: string[];
}

let cached: MockRun | undefined;
async function az(): Promise<MockRun> {
  cached ??= await runMesh(oneCloudSpec("azure"));
  return cached;
}

function rules(run: MockRun, node: string): Rule[] {
  return input<Rule[]>(one(run, "azure:network/networkSecurityGroup:NetworkSecurityGroup", `${node}-nsg`), "securityRules");
}

function sources(rule: Rule | undefined): string[] {
  return rule?.sourceAddressPrefixes ?? (rule?.sourceAddressPrefix ? [rule.sourceAddressPrefix] : []);
}

function principalOf(run: MockRun, node: string): string {
  // The mock gives each VM a managed identity; the access policy must name exactly that one.
  const policy = one(run, "azure:keyvault/accessPolicy:AccessPolicy", `${node}-kv-vm`);
  return input<string>(policy, "objectId");
}

test("each role is its own component with one wg-mesh:azure:Host beneath it, in a resource group of its own", async () => {
  const run = await az();
  for (const [node, type] of Object.entries(ROLES)) {
    assert.equal(parentOf(run, one(run, "wg-mesh:azure:Host", node))?.urn, one(run, type, node).urn);
    const group = one(run, "azure:core/resourceGroup:ResourceGroup", `${node}-rg`);
    for (const r of resourcesOf(run, node).filter((x) => x.type.startsWith("azure:") && "resourceGroupName" in x.inputs)) {
      assert.equal(input(r, "resourceGroupName"), group.id?.split("/").pop(), `${r.type} ${r.name}`);
    }
  }
});

test("NSG: WireGuard from the peers' /32s (the world on the hub), SSH from adminCidrs, and an explicit deny for all else", async () => {
  const run = await az();
  const ips = publicIps(run);
  const expected: Record<string, string[]> = {
    hub1: ["0.0.0.0/0"],
    pop1: [`${ips.app1}/32`, `${ips.hub1}/32`].sort(),
    app1: [`${ips.hub1}/32`, `${ips.pop1}/32`].sort(),
  };
  for (const node of Object.keys(ROLES)) {
    const rs = rules(run, node);
    assert.deepEqual(rs.map((r) => r.name), ["wireguard", "ssh", "deny-everything-else"]);
    assert.ok(rs.every((r) => r.direction === "Inbound"));
    const [wg, ssh, deny] = rs;
    assert.deepEqual([wg?.access, wg?.protocol, wg?.destinationPortRange], ["Allow", "Udp", "51820"]);
    assert.deepEqual(sources(wg), expected[node]);
    assert.deepEqual([ssh?.access, ssh?.protocol, ssh?.destinationPortRange], ["Allow", "Tcp", "22"]);
    assert.deepEqual(sources(ssh), ["203.0.113.0/24"]);
    assert.deepEqual([deny?.access, deny?.protocol, deny?.destinationPortRange, deny?.sourceAddressPrefix], ["Deny", "*", "*", "*"]);
    assert.ok((wg?.priority ?? 0) < (deny?.priority ?? 0) && (ssh?.priority ?? 0) < (deny?.priority ?? 0));

    const nsg = one(run, "azure:network/networkSecurityGroup:NetworkSecurityGroup", `${node}-nsg`);
    const nic = one(run, "azure:network/networkInterface:NetworkInterface", `${node}-nic`);
    const assoc = one(run, "azure:network/networkInterfaceSecurityGroupAssociation:NetworkInterfaceSecurityGroupAssociation", `${node}-nic-nsg`);
    assert.deepEqual([input(assoc, "networkInterfaceId"), input(assoc, "networkSecurityGroupId")], [nic.id, nsg.id]);
  }
  const noSsh = await runMesh(oneCloudSpec("azure", { adminCidrs: [] }));
  for (const node of Object.keys(ROLES)) assert.deepEqual(rules(noSsh, node).map((r) => r.name), ["wireguard", "deny-everything-else"]);
});

test("the VM: system-assigned identity, no password, the lock key, static public IP on its NIC, custom data = cloud-init", async () => {
  const run = await az();
  for (const node of Object.keys(ROLES)) {
    const vm = one(run, "azure:compute/linuxVirtualMachine:LinuxVirtualMachine", `${node}-vm`);
    assert.deepEqual(input(vm, "identity"), { type: "SystemAssigned" });
    assert.equal(input(vm, "disablePasswordAuthentication"), true);
    assert.equal(vm.inputs.adminPassword, undefined);
    assert.deepEqual(input(vm, "adminSshKeys"), [{ username: "wgmesh", publicKey: AZURE_LOCK_KEY }]);
    assert.deepEqual(input(vm, "sourceImageReference"), { publisher: "Canonical", offer: "ubuntu-24_04-lts", sku: "server", version: "latest" });
    assert.equal(input(vm, "size"), node === "app1" ? "Standard_B1s" : "Standard_B2s");
    const vault = { kind: "azure-keyvault" as const, vaultName: azureVaultName({ project: PROJECT, stack: "test", node }), secretName: AZURE_SECRET_NAME };
    assert.equal(Buffer.from(input<string>(vm, "customData"), "base64").toString("utf8"), renderCloudInit({ node, vault }));
    assert.equal(vm.inputs.userData, undefined);

    const ip = one(run, "azure:network/publicIp:PublicIp", `${node}-ip`);
    assert.deepEqual([input(ip, "allocationMethod"), input(ip, "sku")], ["Static", "Standard"]);
    const nic = one(run, "azure:network/networkInterface:NetworkInterface", `${node}-nic`);
    assert.equal(input<{ publicIpAddressId: string }[]>(nic, "ipConfigurations")[0]?.publicIpAddressId, ip.id);
    assert.deepEqual(input(vm, "networkInterfaceIds"), [nic.id]);
    assert.equal(nic.inputs.ipForwardingEnabled, undefined);
  }
});

test("the lock key is a 2048-bit RSA key (Azure accepts nothing else) that nobody can log in with", () => {
  const [kind, body, comment] = AZURE_LOCK_KEY.split(" ");
  assert.equal(kind, "ssh-rsa");
  assert.equal(comment, "wg-mesh-no-login");
  const blob = Buffer.from(body as string, "base64");
  const read = (at: number): [Buffer, number] => {
    const len = blob.readUInt32BE(at);
    return [blob.subarray(at + 4, at + 4 + len), at + 4 + len];
  };
  const [type, a] = read(0);
  const [e, b] = read(a);
  const [n] = read(b);
  assert.equal(type.toString(), "ssh-rsa");
  const key = createPublicKey({ key: { kty: "RSA", e: e.toString("base64url"), n: n.subarray(1).toString("base64url") }, format: "jwk" });
  assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
});

test("Key Vault: one per node, named as cloud-init reads it; the VM's identity may Get its secrets and do nothing else", async () => {
  const run = await az();
  assert.equal(ofType(run, "azure:keyvault/keyVault:KeyVault").length, Object.keys(ROLES).length);
  const principals = new Set<string>();
  for (const node of Object.keys(ROLES)) {
    const vault = one(run, "azure:keyvault/keyVault:KeyVault", `${node}-kv`);
    assert.equal(input(vault, "name"), azureVaultName({ project: PROJECT, stack: "test", node }));
    assert.equal(input(vault, "tenantId"), AZURE_TENANT);
    assert.equal(input(vault, "rbacAuthorizationEnabled"), false, "access policies decide, and they are below");
    assert.equal(vault.inputs.accessPolicies, undefined, "inline policies would fight the AccessPolicy resources");

    const policies = ofType(run, "azure:keyvault/accessPolicy:AccessPolicy").filter((p) => input(p, "keyVaultId") === vault.id);
    assert.deepEqual(policies.map((p) => p.name).sort(), [named(node, "-kv-deployer"), named(node, "-kv-vm")]);
    const vmPolicy = policies.find((p) => p.name === named(node, "-kv-vm")) as RecordedResource;
    assert.deepEqual(input(vmPolicy, "secretPermissions"), ["Get"]);
    for (const kind of ["keyPermissions", "certificatePermissions", "storagePermissions"]) assert.equal(vmPolicy.inputs[kind], undefined, kind);
    principals.add(principalOf(run, node));
    const deployer = policies.find((p) => p.name === named(node, "-kv-deployer")) as RecordedResource;
    assert.equal(input(deployer, "objectId"), AZURE_DEPLOYER);

    const secret = one(run, "azure:keyvault/secret:Secret", `${node}-wg0`);
    assert.equal(input(secret, "name"), AZURE_SECRET_NAME);
    assert.equal(input(secret, "keyVaultId"), vault.id);
    assert.match(input<string>(secret, "value"), new RegExp(`^# ${node} \\(`));
  }
  assert.equal(principals.size, Object.keys(ROLES).length, "each vault admits its own VM's identity, not another's");
  assert.ok(![...principals].some((p) => p === "" || p === AZURE_DEPLOYER));
});

test("without a subnetId each VM gets a small VNet clear of the overlay; with one, that subnet and no VNet", async () => {
  const run = await az();
  const spec = oneCloudSpec("azure");
  const taken = [spec.overlay, ...spec.regions.map((r) => r.subnet)].map((c) => parsePrefix(c) as Prefix);
  for (const node of Object.keys(ROLES)) {
    const vnet = one(run, "azure:network/virtualNetwork:VirtualNetwork", `${node}-vnet`);
    const space = input<string[]>(vnet, "addressSpaces");
    assert.equal(space.length, 1);
    assert.ok(!taken.some((t) => overlaps(t, parsePrefix(space[0] as string) as Prefix)), `${space[0]} overlaps the overlay`);
    const subnet = one(run, "azure:network/subnet:Subnet", `${node}-subnet`);
    assert.equal(input<{ subnetId: string }[]>(one(run, "azure:network/networkInterface:NetworkInterface", `${node}-nic`), "ipConfigurations")[0]?.subnetId, subnet.id);
  }

  const given = "/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/apps";
  const nodes = spec.nodes.map((n) => (n.name === "app1" ? { ...n, azure: { location: "westeurope", subnetId: given } } : n));
  const withSubnet = await runMesh({ ...spec, nodes });
  assert.equal(withSubnet.resources.filter((r) => r.name === named("app1", "-vnet") || r.name === named("app1", "-subnet")).length, 0);
  assert.equal(run.resources.filter((r) => r.name === named("app1", "-vnet") || r.name === named("app1", "-subnet")).length, 2, "the check above looks for names that exist");
  assert.equal(input<{ subnetId: string }[]>(one(withSubnet, "azure:network/networkInterface:NetworkInterface", "app1-nic"), "ipConfigurations")[0]?.subnetId, given);
});
