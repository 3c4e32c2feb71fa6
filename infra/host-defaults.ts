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
 * Google's public image projects whose images do not run cloud-init (they have the guest
 * environment, which ignores the `user-data` a node's bootstrap travels in): a node booted from one
 * never runs its bootstrap. Ubuntu's (the default) and Container-Optimized OS's do run it.
 */
const GCP_PROJECTS_WITHOUT_CLOUD_INIT = ["debian-cloud", "centos-cloud", "rocky-linux-cloud", "almalinux-cloud", "rhel-cloud", "rhel-sap-cloud", "suse-cloud", "suse-sap-cloud", "opensuse-cloud", "fedora-coreos-cloud", "windows-cloud"];

/** The image project of a GCP image that does not run cloud-init, or undefined. */
export function gcpImageWithoutCloudInit(image: string): string | undefined {
  const project = /^(?:(?:https:\/\/www\.googleapis\.com\/compute\/v1\/)?projects\/)?([a-z0-9-]+)\//.exec(image)?.[1];
  return project && GCP_PROJECTS_WITHOUT_CLOUD_INIT.includes(project) ? project : undefined;
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
