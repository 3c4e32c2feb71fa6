/**
 * A node on Azure: its own resource group, a small VNet unless a subnet is given, a static
 * public IP, an NSG, the VM with a system-assigned identity, and a Key Vault of its own whose two
 * secrets (the config and the node agent) only that identity may read (Get, nothing else).
 */
import * as azure from "@pulumi/azure";
import * as pulumi from "@pulumi/pulumi";
import { HOST_TYPES } from "../type-tokens";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { AZURE_VAULT_SUFFIX_LENGTH, AZURE_VAULT_TAG, azureVaultName } from "../../infra/vault";
import { MeshRunError } from "../errors";
import { cloudName } from "../names";
import { azureImage, azureImageMismatch, azureVmSize, SSH_USER } from "../../infra/host-defaults";
import { agentPartName } from "../../infra/render/agent-parts";
import { sshHint } from "./ssh";
import type { AzureHostArgs, HostOutputs } from "./types";

/** What Pulumi itself needs to write, replace and clean up the secret; the VM gets Get only. */
const DEPLOYER_SECRET_PERMISSIONS = ["Get", "List", "Set", "Delete", "Purge", "Recover"];

export class AzureHost extends pulumi.ComponentResource implements HostOutputs {
  readonly publicIp: pulumi.Output<string>;
  readonly vaultSecretRef: pulumi.Output<string>;
  readonly sshHint: pulumi.Output<string>;
  readonly instanceId: pulumi.Output<string>;
  readonly bootstrapCheck: pulumi.Output<string>;

  constructor(name: string, args: AzureHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super(HOST_TYPES.azure, name, {}, opts);
    const child = { parent: this };
    const place = args.placement;
    const { location } = place;
    const tags = args.tags;
    const size = azureVmSize(args.role, place.vmSize);
    const image = azureImage(place.image, size);
    const mismatch = azureImageMismatch(image, size);
    if (mismatch) throw new MeshRunError(`nodes.${args.nodeName}.azure.image: ${mismatch}`);

    const [rgName, rgOpts] = named("azure:core/resourceGroup:ResourceGroup", `${name}-rg`, child);
    const group = new azure.core.ResourceGroup(`${name}-rg`, { ...rgName, location, tags }, rgOpts);
    const resourceGroupName = group.name;

    const subnetId = place.subnetId ?? this.newSubnet(name, args.underlayCidr, resourceGroupName, location, tags);
    const [ipName, ipOpts] = named("azure:network/publicIp:PublicIp", `${name}-ip`, child);
    const ip = new azure.network.PublicIp(`${name}-ip`, { ...ipName, resourceGroupName, location, allocationMethod: "Static", sku: "Standard", tags }, ipOpts);

    const sources = pulumi.output(args.wireguardSources);
    const [nsgName, nsgOpts] = named("azure:network/networkSecurityGroup:NetworkSecurityGroup", `${name}-nsg`, child);
    const nsg = new azure.network.NetworkSecurityGroup(
      `${name}-nsg`,
      {
        ...nsgName,
        resourceGroupName,
        location,
        securityRules: sources.apply((cidrs) => [
          ...(cidrs.length > 0 ? [inbound("wireguard", 100, "Allow", "Udp", String(args.listenPort), cidrs)] : []),
          ...(args.adminCidrs.length > 0 ? [inbound("ssh", 110, "Allow", "Tcp", "22", args.adminCidrs)] : []),
          // Azure's own defaults admit the whole VNet and its load balancer; this node wants neither.
          inbound("deny-everything-else", 4096, "Deny", "*", "*", ["*"]),
        ]),
        tags,
      },
      nsgOpts,
    );
    const [nicName, nicOpts] = named("azure:network/networkInterface:NetworkInterface", `${name}-nic`, child);
    const nic = new azure.network.NetworkInterface(
      `${name}-nic`,
      { ...nicName, resourceGroupName, location, ipConfigurations: [{ name: "primary", subnetId, privateIpAddressAllocation: "Dynamic", publicIpAddressId: ip.id }], tags },
      nicOpts,
    );
    new azure.network.NetworkInterfaceSecurityGroupAssociation(`${name}-nic-nsg`, { networkInterfaceId: nic.id, networkSecurityGroupId: nsg.id }, child);

    // Key Vault names are global (soft-deleted ones included): random characters, chosen once per
    // node, keep this deployment's apart from every other and from its own earlier, destroyed self.
    const vaultSuffix = new random.RandomString(
      `${name}-kv-name`,
      { length: AZURE_VAULT_SUFFIX_LENGTH, upper: false, special: false, numeric: true, lower: true },
      child,
    );
    const vaultName = vaultSuffix.result.apply((suffix) => azureVaultName(args.nodeName, suffix));

    // Azure will not make a Linux VM without an admin key or password. A real RSA key: its private
    // half stays in the stack's encrypted state (where the node's WireGuard key already is) and is
    // never exported; admins log in with a key of their own (see the SSH hint).
    const loginKey = new tls.PrivateKey(`${name}-login-key`, { algorithm: "RSA", rsaBits: 4096 }, child);

    const [vmName, vmOpts] = named("azure:compute/linuxVirtualMachine:LinuxVirtualMachine", `${name}-vm`, child);
    const vm = new azure.compute.LinuxVirtualMachine(
      `${name}-vm`,
      {
        ...vmName,
        resourceGroupName,
        location,
        size,
        networkInterfaceIds: [nic.id],
        adminUsername: SSH_USER.azure,
        adminSshKeys: [{ username: SSH_USER.azure, publicKey: loginKey.publicKeyOpenssh }],
        disablePasswordAuthentication: true,
        // Managed disks are encrypted at rest with platform keys; nothing to switch on.
        osDisk: { caching: "ReadWrite", storageAccountType: "StandardSSD_LRS" },
        sourceImageReference: image,
        identity: { type: "SystemAssigned" },
        // The bootstrap. Custom data is ForceNew in the provider: a change would replace the VM, so a running
        // one ignores it (cloud-init would not run it again anyway); a new VM gets the current bootstrap.
        customData: Buffer.from(args.userData, "utf8").toString("base64"),
        // Tags update in place: the sync unit reads its vault's name from here.
        tags: vaultName.apply((v) => ({ ...tags, [AZURE_VAULT_TAG]: v })),
      },
      // The new VM needs the NIC the old one holds, so a replacement deletes the old one first.
      { ...vmOpts, deleteBeforeReplace: true, ignoreChanges: ["customData"] },
    );

    const client = azure.core.getClientConfigOutput(child);
    const vault = new azure.keyvault.KeyVault(
      `${name}-kv`,
      {
        // Fixed once chosen, so a replacement deletes first. No purge protection: a destroy purges the
        // vault (the provider's default), and even where it cannot, the next deployment picks new names.
        name: vaultName,
        resourceGroupName,
        location,
        tenantId: client.tenantId,
        skuName: "standard",
        rbacAuthorizationEnabled: false,
        softDeleteRetentionDays: 7,
        purgeProtectionEnabled: false,
        tags,
      },
      { ...child, deleteBeforeReplace: true },
    );
    const deployer = new azure.keyvault.AccessPolicy(
      `${name}-kv-deployer`,
      { keyVaultId: vault.id, tenantId: client.tenantId, objectId: client.objectId, secretPermissions: DEPLOYER_SECRET_PERMISSIONS },
      child,
    );
    new azure.keyvault.AccessPolicy(
      `${name}-kv-vm`,
      {
        keyVaultId: vault.id,
        tenantId: client.tenantId,
        objectId: vm.identity.apply((identity) => identity?.principalId ?? ""),
        secretPermissions: ["Get"],
      },
      child,
    );
    // The agent first: a node that reads a config naming a new agent finds that agent already there.
    // One secret per part (infra/render/agent-parts.ts; part 1 is the agent secret as it always was). The
    // VM's Get on the vault's secrets reaches them all, and the vault holds nothing else.
    const agentSecrets = args.agent.map(
      (value, i) =>
        new azure.keyvault.Secret(
          agentPartName(`${name}-agent`, i + 1),
          { name: agentPartName(args.vault.agentSecretName, i + 1), keyVaultId: vault.id, value, contentType: "application/gzip+base64" },
          { ...child, dependsOn: [deployer] },
        ),
    );
    const secret = new azure.keyvault.Secret(
      `${name}-wg0`,
      { name: args.vault.secretName, keyVaultId: vault.id, value: args.config, contentType: "text/plain" },
      { ...child, dependsOn: [deployer, ...agentSecrets] },
    );

    this.publicIp = ip.ipAddress;
    this.instanceId = vm.id;
    // No boot console to read without boot diagnostics (turning them on would update every VM): the VM agent runs the look instead.
    this.bootstrapCheck = pulumi.interpolate`az vm run-command invoke -g ${resourceGroupName} -n ${vm.name} --command-id RunShellScript --scripts 'cloud-init status --long; readlink /usr/local/lib/wgmesh/current; journalctl -u wgmesh-sync -n 5 --no-pager'`;
    this.vaultSecretRef = secret.versionlessId;
    this.sshHint = sshHint(
      args.adminCidrs,
      pulumi.interpolate`az vm user update -g ${resourceGroupName} -n ${vm.name} -u ${SSH_USER.azure} --ssh-key-value ~/.ssh/id_rsa.pub && ssh ${SSH_USER.azure}@${ip.ipAddress}`,
    );
    this.registerOutputs({ publicIp: this.publicIp, vaultSecretRef: this.vaultSecretRef, instanceId: this.instanceId, bootstrapCheck: this.bootstrapCheck });
  }

  private newSubnet(name: string, cidr: string, resourceGroupName: pulumi.Output<string>, location: string, tags: Record<string, string>): pulumi.Output<string> {
    const [vnetName, vnetOpts] = named("azure:network/virtualNetwork:VirtualNetwork", `${name}-vnet`, { parent: this });
    const vnet = new azure.network.VirtualNetwork(`${name}-vnet`, { ...vnetName, resourceGroupName, location, addressSpaces: [cidr], tags }, vnetOpts);
    const [subnetName, subnetOpts] = named("azure:network/subnet:Subnet", `${name}-subnet`, { parent: this });
    const subnet = new azure.network.Subnet(`${name}-subnet`, { ...subnetName, resourceGroupName, virtualNetworkName: vnet.name, addressPrefixes: [cidr] }, subnetOpts);
    return subnet.id;
  }
}

/** The name args and options of a resource the provider would otherwise name (see components/names.ts). */
function named(type: string, resourceName: string, opts: pulumi.CustomResourceOptions): [Record<string, string>, pulumi.CustomResourceOptions] {
  const n = cloudName(type, resourceName);
  return [n.args, { ...opts, ...n.opts }];
}

function inbound(name: string, priority: number, access: "Allow" | "Deny", protocol: string, port: string, sources: string[]): azure.types.input.network.NetworkSecurityGroupSecurityRule {
  return {
    name,
    priority,
    direction: "Inbound",
    access,
    protocol,
    sourcePortRange: "*",
    destinationPortRange: port,
    destinationAddressPrefix: "*",
    ...(sources.length === 1 ? { sourceAddressPrefix: sources[0] } : { sourceAddressPrefixes: sources }),
  };
}
