/**
 * The shape of each placement value a cloud's API takes, for the values no catalogue can list
 * (instance types, image ids, network names): checked before planning, so a typo or a stray
 * quote fails in `wgmesh plan` with the key that holds it, not minutes into `pulumi up`.
 *
 * Sources (read 2026-12): EC2 instance type names are `family.size` (the family is everything
 * before the period: c6i, u-6tb1, mac2-m2pro); EC2 resource ids are a prefix and 8 or 17 hex
 * digits. GCP names are RFC 1035 labels ([a-z]([-a-z0-9]*[a-z0-9])?, 63 at most); a boot image
 * is one of the forms the provider documents for `initializeParams.image` (self link,
 * projects/P/global/images/[family/]I, global/images/[family/]I, family/F, P/I, I); a network is
 * a name or self link, a subnetwork likewise with its region. Azure VM sizes are
 * Standard_<series and size> (Standard_B1s, Standard_D2ps_v5, Standard_E64-32s_v3) or Basic_A*;
 * an image URN is publisher:offer:sku:version with version Major.Minor.Build or latest; a subnet
 * is an ARM resource id.
 */
import { quote } from "../quote";

export const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$/;
export const GCP_REGION = /^[a-z]+-[a-z]+\d+$/;
export const GCP_ZONE = /^([a-z]+-[a-z]+\d+)-[a-z]$/;
export const GCP_PROJECT = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
export const AZURE_LOCATION = /^[a-z][a-z0-9]+$/;

const EC2_ID = (prefix: string) => new RegExp(`^${prefix}-([0-9a-f]{8}|[0-9a-f]{17})$`);
const GCP_NAME = "[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?";
/** A project id, or a legacy domain-scoped one (example.com:project). */
const GCP_PROJECT_PART = "(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]";
const GCP_SELF_LINK = "(?:https://(?:www|compute)\\.googleapis\\.com/compute/(?:v1|beta)/)?";
const AZURE_PART = "[A-Za-z0-9][A-Za-z0-9._-]*";

/** What each field takes, and an example, for the message. */
const SHAPES = {
  "aws.instanceType": { re: /^[a-z][a-z0-9-]{0,30}\.[a-z0-9][a-z0-9-]{0,30}$/, what: "an EC2 instance type (family.size, lower case), such as t3.small" },
  "aws.ami": { re: EC2_ID("ami"), what: "an AMI id (ami- and 8 or 17 hex digits), such as ami-0123456789abcdef0" },
  "aws.vpcId": { re: EC2_ID("vpc"), what: "a VPC id (vpc- and 8 or 17 hex digits), such as vpc-0123456789abcdef0" },
  "aws.subnetId": { re: EC2_ID("subnet"), what: "a subnet id (subnet- and 8 or 17 hex digits), such as subnet-0123456789abcdef0" },
  "gcp.machineType": { re: new RegExp(`^${GCP_NAME}$`), what: "a machine type name (lower case letters, digits and -), such as e2-small" },
  "gcp.image": {
    re: new RegExp(
      `^(?:${GCP_SELF_LINK}projects/${GCP_PROJECT_PART}/global/images/(?:family/)?${GCP_NAME}|global/images/(?:family/)?${GCP_NAME}|family/${GCP_NAME}|${GCP_PROJECT_PART}/${GCP_NAME}|${GCP_NAME})$`,
    ),
    what: "an image or image family: project/image, projects/P/global/images/family/F or a self link, such as ubuntu-os-cloud/ubuntu-2404-lts-amd64",
  },
  "gcp.network": {
    re: new RegExp(`^(?:${GCP_NAME}|(?:${GCP_SELF_LINK}projects/${GCP_PROJECT_PART}/)?global/networks/${GCP_NAME})$`),
    what: "a VPC network name or self link, such as default or projects/my-project/global/networks/edge",
  },
  "gcp.subnetwork": {
    re: new RegExp(`^(?:${GCP_NAME}|(?:${GCP_SELF_LINK}projects/${GCP_PROJECT_PART}/)?regions/[a-z]+-[a-z]+\\d+/subnetworks/${GCP_NAME})$`),
    what: "a subnetwork name or self link, such as edge-asia or projects/my-project/regions/asia-east2/subnetworks/edge-asia",
  },
  "azure.vmSize": { re: /^(Standard|Basic)_[A-Za-z0-9]+([-_][A-Za-z0-9]+)*$/, what: "a VM size such as Standard_B1s or Standard_D2ps_v5" },
  "azure.image": {
    re: new RegExp(`^${AZURE_PART}:${AZURE_PART}:${AZURE_PART}:(latest|\\d+\\.\\d+\\.\\d+)$`),
    what: "an image URN publisher:offer:sku:version (version latest or Major.Minor.Build), such as Canonical:ubuntu-24_04-lts:server:latest",
  },
  "azure.subnetId": {
    re: /^\/subscriptions\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/resourceGroups\/[-\w.()]{1,90}\/providers\/Microsoft\.Network\/virtualNetworks\/[-\w.]{2,64}\/subnets\/[-\w.]{1,80}$/i,
    what: "a subnet's resource id, /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>",
  },
} as const;

export type ShapedField = keyof typeof SHAPES;

/** Why `value` cannot be the cloud's `field`, or undefined when it has the documented shape. */
export function shapeProblem(field: ShapedField, value: string): string | undefined {
  const shape = SHAPES[field];
  return shape.re.test(value) ? undefined : `${quote(value)} is not ${shape.what}`;
}
