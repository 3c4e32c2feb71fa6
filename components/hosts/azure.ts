/**
 * A node on Azure: its own resource group, a small VNet unless a subnet is given, a static
 * public IP, an NSG, the VM with a system-assigned identity, and a Key Vault of its own whose
 * secrets only that identity may read (Get, nothing else).
 */
import * as azure from "@pulumi/azure";
import * as pulumi from "@pulumi/pulumi";
import { AZURE_LOCK_KEY } from "./azure-lock-key";
import { azureImage, azureVmSize, SSH_USER } from "../../infra/host-defaults";
import { sshHint } from "./ssh";
import type { AzureHostArgs, HostOutputs } from "./types";

/** What Pulumi itself needs to write, replace and clean up the secret; the VM gets Get only. */
const DEPLOYER_SECRET_PERMISSIONS = ["Get", "List", "Set", "Delete", "Purge", "Recover"];

export class AzureHost extends pulumi.ComponentResource implements HostOutputs {
  readonly publicIp: pulumi.Output<string>;
  readonly vaultSecretRef: pulumi.Output<string>;
  readonly sshHint: pulumi.Output<string>;
  readonly instanceId: pulumi.Output<string>;

  constructor(name: string, args: AzureHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("wg-mesh:azure:Host", name, {}, opts);
    const child = { parent: this };
    const place = args.placement;
    const { location } = place;
    const tags = args.tags;

    const group = new azure.core.ResourceGroup(`${name}-rg`, { location, tags }, child);
    const resourceGroupName = group.name;

    const subnetId = place.subnetId ?? this.newSubnet(name, args.underlayCidr, resourceGroupName, location, tags);
    const ip = new azure.network.PublicIp(`${name}-ip`, { resourceGroupName, location, allocationMethod: "Static", sku: "Standard", tags }, child);

    const sources = pulumi.output(args.wireguardSources);
    const nsg = new azure.network.NetworkSecurityGroup(
      `${name}-nsg`,
      {
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
      child,
    );
    const nic = new azure.network.NetworkInterface(
      `${name}-nic`,
      { resourceGroupName, location, ipConfigurations: [{ name: "primary", subnetId, privateIpAddressAllocation: "Dynamic", publicIpAddressId: ip.id }], tags },
      child,
    );
    new azure.network.NetworkInterfaceSecurityGroupAssociation(`${name}-nic-nsg`, { networkInterfaceId: nic.id, networkSecurityGroupId: nsg.id }, child);

    const vm = new azure.compute.LinuxVirtualMachine(
      `${name}-vm`,
      {
        resourceGroupName,
        location,
        size: azureVmSize(args.role, place.vmSize),
        networkInterfaceIds: [nic.id],
        adminUsername: SSH_USER.azure,
        adminSshKeys: [{ username: SSH_USER.azure, publicKey: AZURE_LOCK_KEY }],
        disablePasswordAuthentication: true,
        // Managed disks are encrypted at rest with platform keys; nothing to switch on.
        osDisk: { caching: "ReadWrite", storageAccountType: "StandardSSD_LRS" },
        sourceImageReference: azureImage(place.image),
        identity: { type: "SystemAssigned" },
        // Custom data replaces the VM when it changes; it never does, since it names only the vault.
        customData: Buffer.from(args.userData, "utf8").toString("base64"),
        tags,
      },
      child,
    );

    const client = azure.core.getClientConfigOutput(child);
    const vault = new azure.keyvault.KeyVault(
      `${name}-kv`,
      {
        // Fixed (cloud-init names it), so a replacement deletes first; no purge protection, so
        // a destroyed stack can be created again under the same name.
        name: args.vault.vaultName,
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
    const secret = new azure.keyvault.Secret(
      `${name}-wg0`,
      { name: args.vault.secretName, keyVaultId: vault.id, value: args.config, contentType: "text/plain" },
      { ...child, dependsOn: [deployer] },
    );

    this.publicIp = ip.ipAddress;
    this.instanceId = vm.id;
    this.vaultSecretRef = secret.versionlessId;
    this.sshHint = sshHint(
      args.adminCidrs,
      pulumi.interpolate`az vm user update -g ${resourceGroupName} -n ${vm.name} -u ${SSH_USER.azure} --ssh-key-value ~/.ssh/id_rsa.pub && ssh ${SSH_USER.azure}@${ip.ipAddress}`,
    );
    this.registerOutputs({ publicIp: this.publicIp, vaultSecretRef: this.vaultSecretRef, instanceId: this.instanceId });
  }

  private newSubnet(name: string, cidr: string, resourceGroupName: pulumi.Output<string>, location: string, tags: Record<string, string>): pulumi.Output<string> {
    const vnet = new azure.network.VirtualNetwork(`${name}-vnet`, { resourceGroupName, location, addressSpaces: [cidr], tags }, { parent: this });
    const subnet = new azure.network.Subnet(`${name}-subnet`, { resourceGroupName, virtualNetworkName: vnet.name, addressPrefixes: [cidr] }, { parent: this });
    return subnet.id;
  }
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
