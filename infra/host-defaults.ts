/**
 * Instance sizes and images when a node does not name its own. Hubs and POPs carry other
 * nodes' traffic, so they get one size up from backends. Ubuntu LTS everywhere: its
 * wireguard-tools and curl are what the sync script is written and tested against.
 */
import type { Role } from "./model";

const TRANSIT: ReadonlySet<Role> = new Set<Role>(["hub", "pop"]);

export function awsInstanceType(role: Role, chosen?: string): string {
  return chosen ?? (TRANSIT.has(role) ? "t3.small" : "t3.micro");
}

export function gcpMachineType(role: Role, chosen?: string): string {
  return chosen ?? (TRANSIT.has(role) ? "e2-small" : "e2-micro");
}

export function azureVmSize(role: Role, chosen?: string): string {
  return chosen ?? (TRANSIT.has(role) ? "Standard_B2s" : "Standard_B1s");
}

/** EC2's burstable families: T2, T3, T3a, T4g (and any later T generation). */
export function awsBurstable(instanceType: string): boolean {
  return /^t\d+[a-z]*\./.test(instanceType);
}

/**
 * CPU credits for a burstable instance: always "standard". EC2 launches T3, T3a and T4g as
 * "unlimited" unless told otherwise (RunInstances CreditSpecification: "Default: standard (T2
 * instances) or unlimited (T3/T3a/T4g instances)", and so the @pulumi/aws type's own comment), and
 * an unlimited hub or POP forwarding steady traffic above its baseline (20% of each vCPU on a
 * t3.small) is billed for surplus credits: a bill nobody chose. Standard keeps the instance's price
 * the price; above its credits it is held to its baseline instead, so a node that forwards hard
 * needs a non-burstable instanceType (c7i.large, c7g.medium). The setting changes in place
 * (ModifyInstanceCreditSpecification; CloudFormation: "Update requires: No interruption").
 * Undefined for other families, which have no credits and refuse the setting.
 */
export function awsCreditSpecification(instanceType: string): { cpuCredits: "standard" } | undefined {
  return awsBurstable(instanceType) ? { cpuCredits: "standard" } : undefined;
}

/** Graviton families carry a "g" after the generation (t4g, c7gn, m6gd). */
export function awsArchitecture(instanceType: string): "arm64" | "amd64" {
  return /^[a-z]+\d+g[a-z]*\./.test(instanceType) ? "arm64" : "amd64";
}

/** Canonical's account and image names for the current LTS (24.04, noble) on gp3 disks. */
export const UBUNTU_OWNER = "099720109477";
export function ubuntuAmiNamePattern(arch: "arm64" | "amd64"): string {
  return `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${arch}-server-*`;
}

/** GCP's Arm machine families (Tau T2A, Axion C4A). */
export function gcpImage(machineType: string, chosen?: string): string {
  if (chosen) return chosen;
  return /^(t2a|c4a)-/.test(machineType) ? "ubuntu-os-cloud/ubuntu-2404-lts-arm64" : "ubuntu-os-cloud/ubuntu-2404-lts-amd64";
}

/**
 * Public image projects whose images cannot run a node's bootstrap: it is a #cloud-config document
 * in the `user-data` metadata key, which only cloud-init reads, and it installs wireguard-tools, curl,
 * jq and iptables with the system's package manager. A VM from one of these boots, runs nothing of
 * it, and never brings its tunnel up. Sources, each checked:
 * - debian-cloud: Google's image maintainer asked Debian's image builder not to add cloud-init to the
 *   GCE images (it conflicts with Google's guest agent): andsens/bootstrap-vz#469.
 * - rhel-cloud, rhel-sap-cloud, rocky-linux-cloud, centos-cloud: "Default RHEL 9 and Rocky Linux 9
 *   images on GCE do not have cloud-init installed" (kubernetes/kops#16697; CentOS the same build).
 * - almalinux-cloud: the AWS and Azure images carry cloud-init, the GCP ones do not
 *   (AlmaLinux/cloud-images#325).
 * - fedora-coreos-cloud: Ignition reads user-data, not cloud-init (coreos/fedora-coreos-tracker#380).
 * - cos-cloud: Container-Optimized OS runs cloud-init, but has no package manager and a read-only
 *   root, so the bootstrap's packages cannot be installed.
 * - windows-cloud, windows-sql-cloud: Windows.
 * Ubuntu (ubuntu-os-cloud, ubuntu-os-pro-cloud) runs cloud-init and is what the bootstrap is tested on;
 * images of other projects are taken as given.
 */
const GCP_NO_BOOTSTRAP: Readonly<Record<string, string>> = {
  "debian-cloud": "Google's Debian images do not include cloud-init",
  "rhel-cloud": "Google's RHEL images do not include cloud-init",
  "rhel-sap-cloud": "Google's RHEL images do not include cloud-init",
  "rocky-linux-cloud": "Google's Rocky Linux images do not include cloud-init",
  "centos-cloud": "Google's CentOS images do not include cloud-init",
  "almalinux-cloud": "AlmaLinux's GCP images do not include cloud-init",
  "fedora-coreos-cloud": "Fedora CoreOS reads user-data with Ignition, not cloud-init",
  "cos-cloud": "Container-Optimized OS has no package manager to install wireguard-tools with",
  "windows-cloud": "it is a Windows image",
  "windows-sql-cloud": "it is a Windows image",
};

/**
 * The project an image reference names, as the Google provider resolves it: a URL or
 * `projects/P/global/images/...`, `P/name`, or a bare name, which the provider looks up in the public
 * project its prefix names (debian-12 in debian-cloud, cos-stable in cos-cloud).
 */
export function gcpImageProject(image: string): string | undefined {
  const path = /projects\/([^/]+)\/global\/images\//.exec(image);
  if (path) return path[1];
  const parts = image.split("/");
  if (parts.length === 2 && parts[0] !== "global") return parts[0];
  if (parts.length > 1) return undefined;
  const prefixes: [RegExp, string][] = [
    [/^windows-sql-/, "windows-sql-cloud"],
    [/^windows-/, "windows-cloud"],
    [/^rhel-sap-/, "rhel-sap-cloud"],
    [/^rhel-/, "rhel-cloud"],
    [/^centos-/, "centos-cloud"],
    [/^rocky-linux-/, "rocky-linux-cloud"],
    [/^almalinux-/, "almalinux-cloud"],
    [/^fedora-coreos-/, "fedora-coreos-cloud"],
    [/^debian-/, "debian-cloud"],
    [/^cos-/, "cos-cloud"],
    [/^ubuntu-/, "ubuntu-os-cloud"],
  ];
  return prefixes.find(([re]) => re.test(image))?.[1];
}

/** Why a chosen GCP image would leave the node without its tunnel, or undefined when it is not known to. */
export function gcpImageProblem(image: string): string | undefined {
  const project = gcpImageProject(image);
  const why = project === undefined ? undefined : GCP_NO_BOOTSTRAP[project];
  if (why === undefined) return undefined;
  return `${JSON.stringify(image)} cannot run the node's bootstrap (a #cloud-config in user-data): ${why}, so the VM would boot without its tunnel; use an Ubuntu LTS image (ubuntu-os-cloud/ubuntu-2404-lts-amd64) or leave image out`;
}

export const AZURE_DEFAULT_IMAGE = "Canonical:ubuntu-24_04-lts:server:latest";
export const AZURE_DEFAULT_ARM_IMAGE = "Canonical:ubuntu-24_04-lts:server-arm64:latest";

/**
 * Azure's Arm sizes carry a "p" among the feature letters after the vCPU count (Standard_D2ps_v5,
 * Standard_E4pds_v5, Standard_B2pts_v2); the family letters before the count are upper case.
 */
export function azureArchitecture(vmSize: string): "arm64" | "amd64" {
  return /^Standard_[A-Z]+\d+[a-z]*p[a-z]*_v\d+$/.test(vmSize) ? "arm64" : "amd64";
}

export interface AzureImage {
  publisher: string;
  offer: string;
  sku: string;
  version: string;
}

/** An image URN "publisher:offer:sku:version" (config validation has checked its shape); without one, Ubuntu LTS for the size's architecture. */
export function azureImage(urn: string | undefined, vmSize: string): AzureImage {
  const chosen = urn ?? (azureArchitecture(vmSize) === "arm64" ? AZURE_DEFAULT_ARM_IMAGE : AZURE_DEFAULT_IMAGE);
  const [publisher, offer, sku, version] = chosen.split(":");
  if (!publisher || !offer || !sku || !version) throw new Error(`${chosen} is not an image URN publisher:offer:sku:version`);
  return { publisher, offer, sku, version };
}

/** Why an image cannot boot on a size, for Canonical's images whose SKU says the architecture; undefined when it can or cannot be told. */
export function azureImageMismatch(image: AzureImage, vmSize: string): string | undefined {
  if (image.publisher.toLowerCase() !== "canonical") return undefined;
  const armImage = /arm64/i.test(image.sku);
  const armSize = azureArchitecture(vmSize) === "arm64";
  if (armImage === armSize) return undefined;
  return armSize
    ? `${vmSize} is an Arm size and ${image.sku} an x64 image: use an -arm64 SKU (${AZURE_DEFAULT_ARM_IMAGE}) or leave image out`
    : `${vmSize} is an x64 size and ${image.sku} an Arm image: use an x64 SKU (${AZURE_DEFAULT_IMAGE}) or leave image out`;
}

/** The login user each cloud's Ubuntu image or our VM definition has. */
export const SSH_USER = { aws: "ubuntu", azure: "wgmesh" } as const;
