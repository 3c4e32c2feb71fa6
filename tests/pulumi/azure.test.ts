/** Azure hosts under Pulumi's mocks: NSG, VM identity, Key Vault access, networking. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createPublicKey } from "node:crypto";
import { AZURE_DEPLOYER, AZURE_TENANT, AzureVaultNames, sshRsaParts } from "../../stacks/synth/mock-cloud";
import type { MockRun, RecordedResource } from "../../stacks/synth/run";
import { overlaps, parsePrefix, type Prefix } from "../../infra/cidr";
import { renderAgentBundle } from "../../infra/render/agent";
import { agentDelivery, agentPartName } from "../../infra/render/agent-parts";
import { renderCloudInit } from "../../infra/render/cloudinit";
import { parsePayload } from "../../infra/render/payload";
import { AZURE_AGENT_SECRET_NAME, AZURE_SECRET_NAME, AZURE_VAULT_TAG, vaultLocatorFor, type VaultLocator } from "../../infra/vault";
import { findLeaks, input, named, oneCloudSpec, one, ofType, parentOf, publicIps, resourcesOf, runMesh } from "../support/pulumi";

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

test("the VM: system-assigned identity, no password, its own login key, static public IP on its NIC, custom data = the bootstrap, whose changes it ignores", async () => {
  const run = await az();
  const keys = new Set<string>();
  for (const node of Object.keys(ROLES)) {
    const vm = one(run, "azure:compute/linuxVirtualMachine:LinuxVirtualMachine", `${node}-vm`);
    assert.deepEqual(input(vm, "identity"), { type: "SystemAssigned" });
    assert.equal(input(vm, "disablePasswordAuthentication"), true);
    assert.equal(vm.inputs.adminPassword, undefined);
    const key = one(run, "tls:index/privateKey:PrivateKey", `${node}-login-key`);
    assert.deepEqual([input(key, "algorithm"), input(key, "rsaBits")], ["RSA", 4096]);
    const [adminKey] = input<{ username: string; publicKey: string }[]>(vm, "adminSshKeys");
    assert.equal(adminKey?.username, "wgmesh");
    assert.ok(adminKey?.publicKey.startsWith("ssh-rsa "), "Azure takes RSA keys");
    keys.add(adminKey?.publicKey ?? "");
    assert.deepEqual(input(vm, "sourceImageReference"), { publisher: "Canonical", offer: "ubuntu-24_04-lts", sku: "server", version: "latest" });
    assert.equal(input(vm, "size"), node === "app1" ? "Standard_B1s" : "Standard_B2s");
    const vault = vaultLocatorFor({ name: node, cloud: "azure" }, "wg-mesh", "test") as VaultLocator;
    assert.equal(Buffer.from(input<string>(vm, "customData"), "base64").toString("utf8"), renderCloudInit({ node, vault }));
    // customData is ForceNew in the provider: a change must never replace a running VM.
    assert.deepEqual(vm.ignoreChanges, ["customData"]);
    assert.equal(vm.inputs.userData, undefined);
    assert.equal(input<Record<string, string>>(vm, "tags")[AZURE_VAULT_TAG], input(one(run, "azure:keyvault/keyVault:KeyVault", `${node}-kv`), "name"), "the tag names the node's own vault");
    assert.equal(vm.deleteBeforeReplace, true, "a new VM needs the NIC the old one holds");

    const ip = one(run, "azure:network/publicIp:PublicIp", `${node}-ip`);
    assert.deepEqual([input(ip, "allocationMethod"), input(ip, "sku")], ["Static", "Standard"]);
    const nic = one(run, "azure:network/networkInterface:NetworkInterface", `${node}-nic`);
    assert.equal(input<{ publicIpAddressId: string }[]>(nic, "ipConfigurations")[0]?.publicIpAddressId, ip.id);
    assert.deepEqual(input(vm, "networkInterfaceIds"), [nic.id]);
    assert.equal(nic.inputs.ipForwardingEnabled, undefined);
  }
  assert.equal(keys.size, Object.keys(ROLES).length, "a key per VM");
});

/** Odd primes below `limit`. */
function smallPrimes(limit: number): bigint[] {
  const sieve = new Uint8Array(limit);
  const out: bigint[] = [];
  for (let p = 2; p < limit; p++) {
    if (sieve[p]) continue;
    if (p > 2) out.push(BigInt(p));
    for (let m = p * p; m < limit; m += p) sieve[m] = 1;
  }
  return out;
}

test("the login key is a well-formed RSA key whose modulus has no prime factor below 100,000; its private half goes nowhere", async () => {
  const run = await az();
  const primes = smallPrimes(100_000);
  for (const node of Object.keys(ROLES)) {
    const vm = one(run, "azure:compute/linuxVirtualMachine:LinuxVirtualMachine", `${node}-vm`);
    const publicKey = input<{ publicKey: string }[]>(vm, "adminSshKeys")[0]?.publicKey ?? "";
    const [e, n] = sshRsaParts(publicKey);
    // Node's own parser takes it as an RSA public key of the size asked for.
    const parsed = createPublicKey({ key: { kty: "RSA", e: e.toString("base64url"), n: n.toString("base64url") }, format: "jwk" });
    assert.equal(parsed.asymmetricKeyDetails?.modulusLength, 4096);
    assert.equal(parsed.asymmetricKeyDetails?.publicExponent, 65537n);
    const modulus = BigInt(`0x${n.toString("hex")}`);
    assert.equal(modulus % 2n, 1n);
    const factor = primes.find((p) => modulus % p === 0n);
    assert.equal(factor, undefined, `${node}: the modulus is divisible by ${String(factor)}`);
  }
  // The private half is in the stack's state only: no output, export or other input holds it.
  const privateKeys = [...run.cloud.tlsPrivateKeys.values()];
  assert.equal(privateKeys.length, Object.keys(ROLES).length);
  const leaks = [
    ...findLeaks(run.outputs, privateKeys, "outputs"),
    ...run.resources.flatMap((r) => [...findLeaks(r.inputs, privateKeys, `${r.type} ${r.name}`), ...findLeaks(r.outputs ?? {}, privateKeys, `${r.name} outputs`)]),
  ];
  assert.deepEqual(leaks, []);
});

test("an Arm size gets the Arm Ubuntu image; a Canonical x64 image chosen for an Arm size is refused in one line", async () => {
  const spec = oneCloudSpec("azure");
  const arm = spec.nodes.map((n) => (n.name === "app1" ? { ...n, azure: { location: "westeurope", vmSize: "Standard_D2ps_v5" } } : n));
  const run = await runMesh({ ...spec, nodes: arm });
  assert.deepEqual(input(one(run, "azure:compute/linuxVirtualMachine:LinuxVirtualMachine", "app1-vm"), "sourceImageReference"), {
    publisher: "Canonical",
    offer: "ubuntu-24_04-lts",
    sku: "server-arm64",
    version: "latest",
  });
  assert.equal(input<{ sku: string }>(one(run, "azure:compute/linuxVirtualMachine:LinuxVirtualMachine", "hub1-vm"), "sourceImageReference").sku, "server");
  const wrong = spec.nodes.map((n) =>
    n.name === "app1" ? { ...n, azure: { location: "westeurope", vmSize: "Standard_B2pts_v2", image: "Canonical:ubuntu-24_04-lts:server:latest" } } : n,
  );
  await assert.rejects(runMesh({ ...spec, nodes: wrong }), (err) => {
    assert.match((err as Error).message, /^nodes\.app1\.azure\.image: Standard_B2pts_v2 is an Arm size and server an x64 image: use an -arm64 SKU/);
    return true;
  });
});

test("Key Vault names: random per deployed node, so another deployment with the same names, and this one after a destroy that could not purge, both work", async () => {
  const world = new AzureVaultNames();
  const spec = oneCloudSpec("azure");
  const first = await runMesh(spec, { stack: "prod", azureVaults: world });
  const names = ofType(first, "azure:keyvault/keyVault:KeyVault").map((v) => input<string>(v, "name"));
  assert.equal(names.length, Object.keys(ROLES).length);
  for (const name of names) assert.match(name, /^wgm-[a-z0-9]{1,11}-[a-z0-9]{8}$/);
  // Another organisation's stack "prod" of project wg-mesh, with the same node names.
  await runMesh(spec, { stack: "prod", seed: "another organisation", azureVaults: world });
  // This stack destroyed without the purge permission (its vaults stay soft-deleted for 7 days), then created again.
  world.destroy("prod", false);
  const again = await runMesh(spec, { stack: "prod", seed: "after destroy", azureVaults: world });
  assert.equal(ofType(again, "azure:keyvault/keyVault:KeyVault").length, names.length);
  // The world does refuse a taken or soft-deleted name, as Azure does: names without the random part would fail above.
  assert.throws(() => world.create(names[0] as string, "someone else"), /soft-deleted vault/);
});

test("Key Vault: one per node, named as the bootstrap reads it, holding the config and the agent; the VM's identity may Get its secrets and do nothing else", async () => {
  const run = await az();
  const agent = renderAgentBundle();
  assert.equal(ofType(run, "azure:keyvault/keyVault:KeyVault").length, Object.keys(ROLES).length);
  const principals = new Set<string>();
  for (const node of Object.keys(ROLES)) {
    const vault = one(run, "azure:keyvault/keyVault:KeyVault", `${node}-kv`);
    assert.match(input<string>(vault, "name"), new RegExp(`^wgm-${node}-[a-z0-9]{8}$`));
    assert.equal(vault.deleteBeforeReplace, true);
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
    assert.match(parsePayload(input<string>(secret, "value")).config, new RegExp(`^# ${node} \\(`));
    // The agent in as many secrets as it needs here (infra/render/agent-parts.ts): wgmesh-agent, wgmesh-agent-2, ...
    const { values } = agentDelivery(agent, "azure");
    values.forEach((value, i) => {
      const agentSecret = one(run, "azure:keyvault/secret:Secret", agentPartName(`${node}-agent`, i + 1));
      assert.equal(input(agentSecret, "name"), agentPartName(AZURE_AGENT_SECRET_NAME, i + 1));
      assert.equal(input(agentSecret, "keyVaultId"), vault.id);
      assert.equal(input(agentSecret, "value"), value);
      assert.ok(secret.dependencies.includes(agentSecret.urn), "the config waits for the agent it names");
    });
    assert.equal(values.join(""), agent.value);
    assert.equal(ofType(run, "azure:keyvault/secret:Secret").filter((x) => input(x, "keyVaultId") === vault.id).length, 1 + values.length, "nothing else in the vault");
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

  const given = "/subscriptions/01234567-89ab-cdef-0123-456789abcdef/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/edge-vnet/subnets/apps";
  const nodes = spec.nodes.map((n) => (n.name === "app1" ? { ...n, azure: { location: "westeurope", subnetId: given } } : n));
  const withSubnet = await runMesh({ ...spec, nodes });
  assert.equal(withSubnet.resources.filter((r) => r.name === named("app1", "-vnet") || r.name === named("app1", "-subnet")).length, 0);
  assert.equal(run.resources.filter((r) => r.name === named("app1", "-vnet") || r.name === named("app1", "-subnet")).length, 2, "the check above looks for names that exist");
  assert.equal(input<{ subnetId: string }[]>(one(withSubnet, "azure:network/networkInterface:NetworkInterface", "app1-nic"), "ipConfigurations")[0]?.subnetId, given);
});
