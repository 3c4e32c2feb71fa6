/**
 * The type tokens the pack checks, taken from where they are defined: the cloud SDKs' own resource
 * classes (the token each registers under, as CrossGuard's validateResourceOfType reads it) and
 * wg-mesh's components (components/type-tokens.ts). Each SDK module is loaded on its own, not the
 * whole SDK, so the pack starts in about a second.
 */
import { Policy as AwsIamPolicy } from "@pulumi/aws/iam/policy";
import { RolePolicy as AwsRolePolicy } from "@pulumi/aws/iam/rolePolicy";
import { Volume as AwsEbsVolume } from "@pulumi/aws/ebs/volume";
import { Instance as AwsInstance } from "@pulumi/aws/ec2/instance";
import { LaunchTemplate as AwsLaunchTemplate } from "@pulumi/aws/ec2/launchTemplate";
import { SecurityGroup as AwsSecurityGroup } from "@pulumi/aws/ec2/securityGroup";
import { SecurityGroupRule as AwsSecurityGroupRule } from "@pulumi/aws/ec2/securityGroupRule";
import { SecurityGroupIngressRule as AwsSecurityGroupIngressRule } from "@pulumi/aws/vpc/securityGroupIngressRule";
import { LinuxVirtualMachine as AzureLinuxVirtualMachine } from "@pulumi/azure/compute/linuxVirtualMachine";
import { VirtualMachine as AzureVirtualMachine } from "@pulumi/azure/compute/virtualMachine";
import { AccessPolicy as AzureAccessPolicy } from "@pulumi/azure/keyvault/accessPolicy";
import { KeyVault as AzureKeyVault } from "@pulumi/azure/keyvault/keyVault";
import { Secret as AzureSecret } from "@pulumi/azure/keyvault/secret";
import { NetworkSecurityGroup as AzureNetworkSecurityGroup } from "@pulumi/azure/network/networkSecurityGroup";
import { NetworkSecurityRule as AzureNetworkSecurityRule } from "@pulumi/azure/network/networkSecurityRule";
import { Firewall as GcpFirewall } from "@pulumi/gcp/compute/firewall";
import { Instance as GcpInstance } from "@pulumi/gcp/compute/instance";
import { InstanceTemplate as GcpInstanceTemplate } from "@pulumi/gcp/compute/instanceTemplate";
import { IAMBinding as GcpProjectIamBinding } from "@pulumi/gcp/projects/iambinding";
import { IAMMember as GcpProjectIamMember } from "@pulumi/gcp/projects/iammember";
import { HOST_TYPES, MESH_TYPE, NODE_TYPES } from "../components/type-tokens";

/** The token a resource class registers under (the SDKs keep it as the class's static __pulumiType). */
function tokenOf(resourceClass: unknown): string {
  const token = (resourceClass as { __pulumiType?: unknown }).__pulumiType;
  if (typeof token !== "string") throw new Error("a resource class without its type token");
  return token;
}

export const T = {
  awsInstance: tokenOf(AwsInstance),
  awsLaunchTemplate: tokenOf(AwsLaunchTemplate),
  awsEbsVolume: tokenOf(AwsEbsVolume),
  awsSecurityGroup: tokenOf(AwsSecurityGroup),
  awsSecurityGroupRule: tokenOf(AwsSecurityGroupRule),
  awsSecurityGroupIngressRule: tokenOf(AwsSecurityGroupIngressRule),
  awsRolePolicy: tokenOf(AwsRolePolicy),
  awsIamPolicy: tokenOf(AwsIamPolicy),
  gcpFirewall: tokenOf(GcpFirewall),
  gcpInstance: tokenOf(GcpInstance),
  gcpInstanceTemplate: tokenOf(GcpInstanceTemplate),
  gcpProjectIamMember: tokenOf(GcpProjectIamMember),
  gcpProjectIamBinding: tokenOf(GcpProjectIamBinding),
  azureNetworkSecurityGroup: tokenOf(AzureNetworkSecurityGroup),
  azureNetworkSecurityRule: tokenOf(AzureNetworkSecurityRule),
  azureLinuxVirtualMachine: tokenOf(AzureLinuxVirtualMachine),
  azureVirtualMachine: tokenOf(AzureVirtualMachine),
  azureAccessPolicy: tokenOf(AzureAccessPolicy),
  azureKeyVault: tokenOf(AzureKeyVault),
  azureKeyVaultSecret: tokenOf(AzureSecret),
} as const;

/** wg-mesh's own components. */
export const MESH = MESH_TYPE;
export const NODE_COMPONENTS: ReadonlySet<string> = new Set(Object.values(NODE_TYPES));
export const HOST_COMPONENTS: ReadonlySet<string> = new Set(Object.values(HOST_TYPES));
