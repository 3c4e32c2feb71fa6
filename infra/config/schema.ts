/**
 * The shape of `wg-mesh:mesh` as people write it in Pulumi.<stack>.yaml: maps keyed by name
 * (so errors can say `nodes.hkg.address`), defaults for everything that has a sensible one,
 * and no unknown keys anywhere. Only shape and ranges live here; what the values mean
 * together (containment, references, duplicates) is checked in semantics.ts.
 */
import { z } from "zod";
import type { MeshDeclaration, NodeDeclaration, RegionDeclaration } from "../declaration";
import { CLOUDS, RESILIENCE_LEVELS, ROLES, TOPOLOGIES } from "../model";
import { hasUnprintable, quote } from "../quote";
import { declaredKeys, keysOf } from "./issues";
import { DEFAULT_ROTATION_MARGIN } from "../rotation";
import { accessSchema } from "../access/schema";

export const DEFAULT_LISTEN_PORT = 51820;
export const DEFAULT_KEEPALIVE = 25;
export const MIN_LINK_WEIGHT_MS = 0.001;

/** Zod's message for a value that is absent versus one that is there but wrong. */
const expect = (what: string) => (iss: { input?: unknown }) =>
  iss.input === undefined ? `is required: ${what}` : `must be ${what}, not ${describeValue(iss.input)}`;

export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") return quote(value);
  return String(value);
}

const int = (what: string, min: number, max: number) =>
  z
    .number({ error: expect(`a whole number from ${min} to ${max} (${what})`) })
    .int({ error: `must be a whole number from ${min} to ${max} (${what})` })
    .min(min, { error: `must be at least ${min} (${what})` })
    .max(max, { error: `must be at most ${max} (${what})` });

/** Names of the characters that make a value more than one plain line, for the message. */
function unprintableNames(value: string): string {
  const names = new Set<string>();
  for (const ch of value.match(/[\p{Cc}\p{Cf}\u2028\u2029]/gu) ?? []) {
    names.add(ch === "\n" || ch === "\r" || ch === "\u2028" || ch === "\u2029" ? "a line break" : ch === "\t" ? "a tab" : "a control character");
  }
  return [...names].join(" and ");
}

/**
 * A string field: present, one plain line (a line break or tab would reach rendered files,
 * scripts and messages), and no longer than any real value of its kind.
 */
const text = (what: string, max = 255) =>
  z
    .string({ error: expect(what) })
    .min(1, { error: `must not be empty: write ${what}` })
    .max(max, { error: (iss) => `is ${String(iss.input).length} characters long; at most ${max}: write ${what}` })
    .refine((v) => !hasUnprintable(v), {
      error: (iss) => {
        const v = String(iss.input);
        const clean = v.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, "").trim();
        return `${quote(v)} holds ${unprintableNames(v)}; write one plain line${clean ? `, such as ${quote(clean)}` : ""}`;
      },
    });

const degrees = (what: string, limit: number) =>
  z
    .number({ error: expect(`${what} in degrees, from -${limit} to ${limit}`) })
    .min(-limit, { error: `must be at least -${limit} (${what} in degrees)` })
    .max(limit, { error: `must be at most ${limit} (${what} in degrees)` });

export const latencySchema = z.strictObject(
  {
    sites: z
      .record(z.string(), z.strictObject({ lat: degrees("latitude", 90), lon: degrees("longitude", 180) }, { error: expect("{ lat, lon }: where the site is") }), {
        error: expect("a map of site code to { lat, lon }"),
      })
      .optional(),
    rttMs: z
      .record(
        z.string(),
        z.record(
          z.string(),
          z
            .number({ error: expect("a round trip in milliseconds") })
            .positive({ error: "must be above 0 (a round trip in milliseconds)" })
            .max(10_000, { error: "must be at most 10000 (a round trip in milliseconds)" }),
          { error: expect("a map of site code to round trip in ms, such as { fra: 9 }") },
        ),
        { error: expect("a map of site code to { other site: round trip in ms }") },
      )
      .optional(),
  },
  { error: expect("a map with sites and rttMs") },
);

export const maxStretchSchema = z
  .number({ error: expect("a number from 1 to 10: how much longer than direct a pair's path may be") })
  .min(1, { error: "must be at least 1 (1 = every pair at its direct round trip)" })
  .max(10, { error: "must be at most 10" });

export const maxPeersSchema = z
  .number({ error: expect("a whole number from 2 to 1000 (peers per node)") })
  .int({ error: "must be a whole number from 2 to 1000 (peers per node)" })
  .min(2, { error: "must be at least 2 (peers per node)" })
  .max(1000, { error: "must be at most 1000 (peers per node)" });

/** A map with a fixed set of keys, so a typo is an error and not an ignored setting. */
const block = <T extends z.core.$ZodLooseShape>(shape: T, what: string) => z.strictObject(shape, { error: expect(what) });

export const awsPlacementSchema = block(
  {
    region: text("an AWS region code such as eu-west-1", 32),
    instanceType: text("an EC2 instance type such as t3.micro", 64).optional(),
    ami: text("an AMI id such as ami-0123456789abcdef0", 64).optional(),
    vpcId: text("a VPC id such as vpc-0123456789abcdef0", 64).optional(),
    subnetId: text("a subnet id such as subnet-0123456789abcdef0", 64).optional(),
  },
  "a map of AWS placement, such as { region: eu-west-1 }",
);

export const gcpPlacementSchema = block(
  {
    project: text("a GCP project id", 30).optional(),
    zone: text("a GCP zone such as asia-east2-a", 63),
    region: text("a GCP region such as asia-east2; it is derived from zone when left out", 63).optional(),
    machineType: text("a machine type such as e2-small", 128).optional(),
    image: text("an image such as ubuntu-os-cloud/ubuntu-2404-lts-amd64").optional(),
    network: text("a VPC network name or self link").optional(),
    subnetwork: text("a subnetwork name or self link").optional(),
  },
  "a map of GCP placement, such as { zone: asia-east2-a }",
);

export const azurePlacementSchema = block(
  {
    location: text("an Azure location such as uksouth", 64),
    vmSize: text("a VM size such as Standard_B1s", 64).optional(),
    image: text("an image URN publisher:offer:sku:version").optional(),
    subnetId: text("an existing subnet's resource id", 1024).optional(),
  },
  "a map of Azure placement, such as { location: uksouth }",
);

export const externalPlacementSchema = block(
  {
    endpoint: text("the host name or IPv4 address where the node listens; leave it out for a node behind NAT", 253).optional(),
  },
  "a map such as { endpoint: 203.0.113.7 }, or {} for a node behind NAT",
);

const linkName = text("a node name", 64);
export const linkObjectSchema = block(
  {
    peer: text("a node name", 64),
    // The planner sums costs in whole microseconds, so anything below 0.001 ms would be a zero-cost link.
    weight: z
      .number({ error: expect("a number: the link's routing cost, its round trip in ms") })
      .min(MIN_LINK_WEIGHT_MS, { error: `must be at least ${MIN_LINK_WEIGHT_MS} (the link's round trip in ms)` })
      .max(100_000, { error: "must be at most 100000 (the link's round trip in ms)" })
      .optional(),
  },
  "{ peer: <node>, weight: <ms> }",
);

/**
 * A node name or { peer, weight }, told apart by the value's type, so a problem inside either
 * form is reported at its own path instead of as "neither form".
 */
const linkSchema = z.unknown().transform((value, ctx): z.infer<typeof linkName> | z.infer<typeof linkObjectSchema> => {
  const schema = typeof value === "string" ? linkName : value !== null && typeof value === "object" && !Array.isArray(value) ? linkObjectSchema : undefined;
  if (!schema) {
    ctx.addIssue({ code: "custom", message: `must be a node name or { peer: <node>, weight: <ms> }, not ${describeValue(value)}` });
    return z.NEVER;
  }
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
  return z.NEVER;
});
keysOf.set(linkSchema, linkObjectSchema);

export const nodeSchema = block(
  {
    role: z.enum(ROLES, { error: expect(`one of ${ROLES.join(", ")}`) }),
    region: text("a region name from regions", 64),
    site: text("a location code such as hkg; leave it out to take it from the cloud region", 64).optional(),
    address: text("the node's overlay IPv4 address, such as 10.50.5.1", 64),
    cloud: z.enum(CLOUDS, { error: expect(`one of ${CLOUDS.join(", ")}`) }),
    aws: awsPlacementSchema.optional(),
    gcp: gcpPlacementSchema.optional(),
    azure: azurePlacementSchema.optional(),
    external: externalPlacementSchema.optional(),
    underlayMtu: int("the MTU of the node's own network; GCP VPCs default to 1460", 576, 9216).optional(),
    transit: z.boolean({ error: expect("true or false: whether it may carry others' traffic") }).optional(),
    links: z.array(linkSchema, { error: expect("a list of node names or { peer, weight }") }).max(1000, { error: "lists more than 1000 links; a node links to at most every other node" }).optional(),
  },
  "a map with role, region, site, address and cloud",
);

export const regionSchema = block(
  {
    subnet: text("the region's address-plan subnet, such as 10.50.5.0/24", 64),
    area: text("a geographic area that groups regions, such as apac", 64).optional(),
  },
  "a map such as { subnet: 10.50.5.0/24, area: apac }",
);

/** Mesh-wide placement defaults: only fields that mean the same thing in every region. */
export const defaultsSchema = block(
  {
    aws: block({ instanceType: awsPlacementSchema.shape.instanceType }, "a map such as { instanceType: t3.micro }").optional(),
    gcp: block(
      {
        project: gcpPlacementSchema.shape.project,
        machineType: gcpPlacementSchema.shape.machineType,
        image: gcpPlacementSchema.shape.image,
        network: gcpPlacementSchema.shape.network,
      },
      "a map such as { project: my-project, machineType: e2-small }",
    ).optional(),
    azure: block({ vmSize: azurePlacementSchema.shape.vmSize, image: azurePlacementSchema.shape.image }, "a map such as { vmSize: Standard_B1s }").optional(),
  },
  "a map of placement defaults per cloud (aws, gcp, azure)",
);

/** A region the catalogue lacks: its metro, and for GCP its zones' letters. */
const extraRegionSchema = block({ site: text("the site code of the region's metro, such as fra", 64).optional() }, "a map such as { site: fra }, or {}");
const extraGcpRegionSchema = block(
  {
    site: extraRegionSchema.shape.site,
    zones: z
      .array(z.string({ error: expect("a zone letter such as a") }).regex(/^[a-z]$/, { error: (iss) => `must be one zone letter (a-z), not ${describeValue(iss.input)}` }), { error: expect("a list of zone letters such as [a, b, c]") })
      .max(26, { error: "lists more than 26 zone letters" })
      .optional(),
  },
  "a map such as { site: bkk, zones: [a, b, c] }",
);
const extraMap = <T extends z.ZodType>(value: T, what: string) => z.record(z.string(), value, { error: expect(`a map of ${what} to { site }`) });

export const extraRegionsSchema = block(
  {
    aws: extraMap(extraRegionSchema, "AWS region").optional(),
    gcp: extraMap(extraGcpRegionSchema, "GCP region").optional(),
    azure: extraMap(extraRegionSchema, "Azure location").optional(),
  },
  "a map of clouds (aws, gcp, azure) to the regions they opened after wg-mesh's catalogue",
);

const namedMap = (what: string) => z.record(z.string(), z.unknown(), { error: expect(`a map of ${what} by name`) });

/** The top level. Regions and nodes are checked entry by entry so one bad node does not hide the others' problems. */
export const meshSchema = block(
  {
    overlay: text("the overlay's CIDR, such as 10.50.0.0/16", 64),
    listenPort: int("a UDP port", 1, 65535).default(DEFAULT_LISTEN_PORT),
    persistentKeepalive: int("seconds; 0 turns it off", 0, 65535).default(DEFAULT_KEEPALIVE),
    mtu: z
      .union([z.literal("auto"), int("bytes", 1280, 9000)], { error: expect("auto or a whole number from 1280 to 9000 (bytes)") })
      .default("auto"),
    topology: z.enum(TOPOLOGIES, { error: expect(`one of ${TOPOLOGIES.join(", ")}`) }),
    hub: text("the name of the node whose role is hub", 64),
    keyEpoch: int("bump it to rotate every key", 1, 1_000_000).default(1),
    rotationMargin: int("seconds from a deploy that bumps keyEpoch to the moment every node switches keys", 0, 3600).default(DEFAULT_ROTATION_MARGIN),
    presharedKeys: z.boolean({ error: expect("true or false") }).default(false),
    adminCidrs: z
      .array(text("a CIDR such as 203.0.113.0/24", 64), { error: expect("a list of CIDRs allowed to SSH in") })
      .max(1000, { error: "lists more than 1000 CIDRs; aggregate them" })
      .default([]),
    transitRoles: z
      .array(z.enum(ROLES, { error: expect(`one of ${ROLES.join(", ")}`) }), { error: expect("a list of roles whose nodes may carry others' traffic, such as [hub, pop]") })
      .max(ROLES.length * 2, { error: `lists more than ${ROLES.length * 2} roles; there are ${ROLES.length}` })
      .optional(),
    widestAdminCidr: int("the widest admin range taken, as a prefix length; default 16", 1, 32).optional(),
    peerStacks: z
      .array(text("a stack name such as acme/wg-mesh/prod-apac", 256), { error: expect("a list of stack names") })
      .max(100, { error: "lists more than 100 stacks" })
      .default([]),
    defaults: defaultsSchema.optional(),
    maxStretch: maxStretchSchema.optional(),
    maxPeers: maxPeersSchema.optional(),
    latency: latencySchema.optional(),
    resilience: z.enum(RESILIENCE_LEVELS, { error: expect(`one of ${RESILIENCE_LEVELS.join(", ")}`) }).optional(),
    failoverMaxStretch: z
      .number({ error: expect("a number from 1 to 100: the most a failover path may stretch a pair's direct round trip before the plan lists it") })
      .min(1, { error: "must be at least 1 (a failover path's round trip over the direct one)" })
      .max(100, { error: "must be at most 100" })
      .optional(),
    extraRegions: extraRegionsSchema.optional(),
    regions: namedMap("regions"),
    nodes: namedMap("nodes"),
    access: accessSchema.optional(),
  },
  "a map with overlay, topology, hub, regions and nodes",
);

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

/** Every key a schema names, at any depth (zod's definitions: object shapes and what wraps them). */
export function schemaKeys(schema: z.ZodType): Set<string> {
  const keys = new Set<string>();
  const seen = new Set<unknown>();
  const walk = (node: unknown): void => {
    if (!node || typeof node !== "object" || seen.has(node)) return;
    seen.add(node);
    const def = (node as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return;
    for (const [key, inner] of Object.entries((def.shape as Record<string, unknown> | undefined) ?? {})) {
      keys.add(key);
      walk(inner);
    }
    for (const field of ["innerType", "element", "valueType", "in", "out"]) walk(def[field]);
    for (const option of (def.options as unknown[] | undefined) ?? []) walk(option);
  };
  walk(schema);
  return keys;
}
for (const key of schemaKeys(meshSchema)) declaredKeys.add(key);
