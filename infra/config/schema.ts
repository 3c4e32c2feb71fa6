/**
 * The shape of `wg-mesh:mesh` as people write it in Pulumi.<stack>.yaml: maps keyed by name
 * (so errors can say `nodes.hkg.address`), defaults for everything that has a sensible one,
 * and no unknown keys anywhere. Only shape and ranges live here; what the values mean
 * together (containment, references, duplicates) is checked in semantics.ts.
 */
import { z } from "zod";
import type { MeshDeclaration, NodeDeclaration, RegionDeclaration } from "../declaration";
import { CLOUDS, ROLES, TOPOLOGIES } from "../model";
import { DEFAULT_ROTATION_MARGIN } from "../rotation";

export const DEFAULT_LISTEN_PORT = 51820;
export const DEFAULT_KEEPALIVE = 25;

/** Zod's message for a value that is absent versus one that is there but wrong. */
const expect = (what: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? `is required: ${what}` : `must be ${what}, not ${describeValue(iss.input)}`;

export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

const int = (what: string, min: number, max: number) =>
  z
    .number({ error: expect(`a whole number from ${min} to ${max} (${what})`) })
    .int({ error: `must be a whole number from ${min} to ${max} (${what})` })
    .min(min, { error: `must be at least ${min} (${what})` })
    .max(max, { error: `must be at most ${max} (${what})` });

const text = (what: string) => z.string({ error: expect(what) }).min(1, { error: `must not be empty: write ${what}` });

export const awsPlacementSchema = z.strictObject({
  region: text("an AWS region code such as eu-west-1"),
  instanceType: text("an EC2 instance type such as t3.micro").optional(),
  ami: text("an AMI id such as ami-0123456789abcdef0").optional(),
  vpcId: text("a VPC id such as vpc-0123456789abcdef0").optional(),
  subnetId: text("a subnet id such as subnet-0123456789abcdef0").optional(),
});

export const gcpPlacementSchema = z.strictObject({
  project: text("a GCP project id").optional(),
  zone: text("a GCP zone such as asia-east2-a"),
  region: text("a GCP region such as asia-east2; it is derived from zone when left out").optional(),
  machineType: text("a machine type such as e2-small").optional(),
  image: text("an image such as ubuntu-os-cloud/ubuntu-2404-lts-amd64").optional(),
  network: text("a VPC network name or self link").optional(),
  subnetwork: text("a subnetwork name or self link").optional(),
});

export const azurePlacementSchema = z.strictObject({
  location: text("an Azure location such as uksouth"),
  vmSize: text("a VM size such as Standard_B1s").optional(),
  image: text("an image URN publisher:offer:sku:version").optional(),
  subnetId: text("an existing subnet's resource id").optional(),
});

export const externalPlacementSchema = z.strictObject({
  endpoint: text("the host name or IPv4 address where the node listens; leave it out for a node behind NAT").optional(),
});

const linkSchema = z.union(
  [
    text("a node name"),
    z.strictObject({
      peer: text("a node name"),
      weight: z
        .number({ error: expect("a number: the link's routing cost, its round trip in ms") })
        .positive({ error: "must be above 0 (the link's round trip in ms)" })
        .max(100_000, { error: "must be at most 100000 (the link's round trip in ms)" })
        .optional(),
    }),
  ],
  { error: expect("a node name or { peer: <node>, weight: <ms> }") },
);

export const nodeSchema = z.strictObject({
  role: z.enum(ROLES, { error: expect(`one of ${ROLES.join(", ")}`) }),
  region: text("a region name from regions"),
  site: text("a location code such as hkg"),
  address: text("the node's overlay IPv4 address, such as 10.50.5.1"),
  cloud: z.enum(CLOUDS, { error: expect(`one of ${CLOUDS.join(", ")}`) }),
  aws: awsPlacementSchema.optional(),
  gcp: gcpPlacementSchema.optional(),
  azure: azurePlacementSchema.optional(),
  external: externalPlacementSchema.optional(),
  underlayMtu: int("the MTU of the node's own network; GCP VPCs default to 1460", 576, 9216).optional(),
  links: z.array(linkSchema, { error: expect("a list of node names or { peer, weight }") }).optional(),
});

export const regionSchema = z.strictObject({
  subnet: text("the region's address-plan subnet, such as 10.50.5.0/24"),
  area: text("a geographic area that groups regions, such as apac").optional(),
});

/** Mesh-wide placement defaults: only fields that mean the same thing in every region. */
export const defaultsSchema = z.strictObject({
  aws: z.strictObject({ instanceType: awsPlacementSchema.shape.instanceType }).optional(),
  gcp: z
    .strictObject({
      project: gcpPlacementSchema.shape.project,
      machineType: gcpPlacementSchema.shape.machineType,
      image: gcpPlacementSchema.shape.image,
      network: gcpPlacementSchema.shape.network,
    })
    .optional(),
  azure: z.strictObject({ vmSize: azurePlacementSchema.shape.vmSize, image: azurePlacementSchema.shape.image }).optional(),
});

const namedMap = (what: string) => z.record(z.string(), z.unknown(), { error: expect(`a map of ${what} by name`) });

/** The top level. Regions and nodes are checked entry by entry so one bad node does not hide the others' problems. */
export const meshSchema = z.strictObject({
  overlay: text("the overlay's CIDR, such as 10.50.0.0/16"),
  listenPort: int("a UDP port", 1, 65535).default(DEFAULT_LISTEN_PORT),
  persistentKeepalive: int("seconds; 0 turns it off", 0, 65535).default(DEFAULT_KEEPALIVE),
  mtu: z
    .union([z.literal("auto"), int("bytes", 1280, 9000)], { error: expect("auto or a whole number from 1280 to 9000 (bytes)") })
    .default("auto"),
  topology: z.enum(TOPOLOGIES, { error: expect(`one of ${TOPOLOGIES.join(", ")}`) }),
  hub: text("the name of the node whose role is hub"),
  keyEpoch: int("bump it to rotate every key", 1, 1_000_000).default(1),
  rotationMargin: int("seconds from a deploy that bumps keyEpoch to the moment every node switches keys", 0, 3600).default(DEFAULT_ROTATION_MARGIN),
  presharedKeys: z.boolean({ error: expect("true or false") }).default(false),
  adminCidrs: z.array(text("a CIDR such as 203.0.113.0/24"), { error: expect("a list of CIDRs allowed to SSH in") }).default([]),
  peerStacks: z.array(text("a stack name such as acme/wg-mesh/prod-apac"), { error: expect("a list of stack names") }).default([]),
  defaults: defaultsSchema.optional(),
  regions: namedMap("regions"),
  nodes: namedMap("nodes"),
});

export type RawMesh = z.infer<typeof meshSchema>;
export type RawNode = z.infer<typeof nodeSchema>;
export type RawRegion = z.infer<typeof regionSchema>;

/**
 * Everything the Mesh component's args (infra/declaration.ts) can say, this schema accepts: the two
 * descriptions of one declaration cannot drift apart without the compiler saying so.
 */
export const declarationFits = {
  mesh: (d: MeshDeclaration): z.input<typeof meshSchema> => d,
  node: (d: NodeDeclaration): z.input<typeof nodeSchema> => d,
  region: (d: RegionDeclaration): z.input<typeof regionSchema> => d,
};
