/**
 * A mesh as people declare it: the value of `wg-mesh:mesh` in Pulumi.<stack>.yaml, and the args of
 * the `Mesh` component in every Pulumi language. Plain data in the shape people write (maps keyed by
 * name); the config checker (infra/config) turns it into a validated MeshSpec or says what is wrong.
 * The doc comments here become the component package's schema, so they speak to whoever writes it.
 */
import type { AccessEcho } from "./access/model";

/** What a node does in the mesh. */
export const Role = {
  /** Every node links to it; it forwards between them and needs a fixed public endpoint. */
  Hub: "hub",
  /** An edge point of presence: the backends of its area link to it directly. */
  Pop: "pop",
  /** A leaf; it may sit behind NAT and dial out. */
  Backend: "backend",
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** Where a node runs. */
export const Cloud = {
  /** An EC2 instance. */
  Aws: "aws",
  /** A Compute Engine instance. */
  Gcp: "gcp",
  /** An Azure virtual machine. */
  Azure: "azure",
  /** A machine wg-mesh does not run: its wg0.conf is a secret output, installed by hand. */
  External: "external",
} as const;
export type Cloud = (typeof Cloud)[keyof typeof Cloud];

/** Which pairs of nodes get a direct WireGuard link. */
export const Topology = {
  /** Every node to the hub. */
  Hub: "hub",
  /** Every node to the hub, and each POP directly to the backends of its area. */
  Regional: "regional",
  /** Every pair. */
  Full: "full",
  /** wg-mesh chooses the links from the latency model: every pair within maxStretch of its direct round trip, no node above maxPeers. */
  Auto: "auto",
} as const;
export type Topology = (typeof Topology)[keyof typeof Topology];
/** The planner's name for it. */
export type TopologyMode = Topology;

export const ROLES: readonly Role[] = Object.values(Role);
export const CLOUDS: readonly Cloud[] = Object.values(Cloud);
export const TOPOLOGIES: readonly Topology[] = Object.values(Topology);

/** What the mesh must survive without a deploy. */
export const Resilience = {
  /** Nothing: a dead transit node cuts the pairs that cross it until someone redeploys. */
  None: "none",
  /** Any single node: every node that depends on transit gets two disjoint ways in, and each neighbour of a dead node moves its prefixes by itself. */
  Node: "node",
} as const;
export type Resilience = (typeof Resilience)[keyof typeof Resilience];
export const RESILIENCE_LEVELS: readonly Resilience[] = Object.values(Resilience);

/** Where an AWS node runs. */
export interface AwsPlacement {
  /** The AWS region, such as eu-west-1. */
  region: string;
  /** The EC2 instance type; default t3.small for hubs and POPs, t3.micro for backends (Graviton types get an Arm image). */
  instanceType?: string;
  /** The AMI; default the latest Ubuntu 24.04 LTS for the instance's architecture. */
  ami?: string;
  /** The VPC; default the region's default VPC (or the VPC of subnetId). */
  vpcId?: string;
  /** The subnet; default the first subnet of vpcId, or the default VPC's. */
  subnetId?: string;
}

/** Where a GCP node runs. */
export interface GcpPlacement {
  /** The GCP project id; default defaults.gcp.project. */
  project?: string;
  /** The zone, such as asia-east2-a. */
  zone: string;
  /** The region; taken from zone when left out. */
  region?: string;
  /** The machine type; default e2-small for hubs and POPs, e2-micro for backends. */
  machineType?: string;
  /** The boot image; default Ubuntu 24.04 LTS for the machine type's architecture. */
  image?: string;
  /** The VPC network name or self link; default `default`. */
  network?: string;
  /** The subnetwork name or self link. */
  subnetwork?: string;
}

/** Where an Azure node runs. */
export interface AzurePlacement {
  /** The Azure location, such as uksouth. */
  location: string;
  /** The VM size; default Standard_B2s for hubs and POPs, Standard_B1s for backends. */
  vmSize?: string;
  /** The image URN publisher:offer:sku:version; default Canonical:ubuntu-24_04-lts:server:latest. */
  image?: string;
  /** An existing subnet's resource id; without it the node gets a small VNet of its own. */
  subnetId?: string;
}

/** A node wg-mesh does not run. */
export interface ExternalPlacement {
  /** The host name or IPv4 address where it listens, without port; leave it out for a node behind NAT, which then dials out. */
  endpoint?: string;
}

/** An extra direct link from a node, on top of those its topology gives. */
export interface LinkDeclaration {
  /** The node at the other end. */
  peer: string;
  /** The link's routing cost, its round trip in ms; default from the areas of its ends. */
  weight?: number;
}

/** An address-plan region. */
export interface RegionDeclaration {
  /** The region's subnet, inside the overlay, such as 10.50.5.0/24. */
  subnet: string;
  /** The geographic area that groups regions, such as apac; default the region's name. */
  area?: string;
}

/** A node of the mesh. */
export interface NodeDeclaration {
  /** What the node does: hub, pop or backend. */
  role: Role;
  /** The address-plan region it belongs to (a key of regions). */
  region: string;
  /** Its location code, such as hkg, matched against latency tables; left out, a cloud node's is taken from its cloud region. */
  site?: string;
  /** Its overlay IPv4 address without prefix; the wg-quick Address takes its region's prefix length. */
  address: string;
  /** Where it runs: aws, gcp, azure or external. */
  cloud: Cloud;
  /** Placement on AWS; required when cloud is aws. */
  aws?: AwsPlacement;
  /** Placement on GCP; required when cloud is gcp. */
  gcp?: GcpPlacement;
  /** Placement on Azure; required when cloud is azure. */
  azure?: AzurePlacement;
  /** An external node's endpoint; only when cloud is external. */
  external?: ExternalPlacement;
  /** The MTU of the node's own network; default 1460 on GCP, 1500 elsewhere. */
  underlayMtu?: number;
  /**
   * Whether it may carry other nodes' traffic (forward between its peers); default: whether its role is in the mesh's
   * transitRoles. A node behind NAT never does, and the hub always does.
   */
  transit?: boolean;
  /** Extra direct links from this node (in YAML a bare node name is short for { peer: name }). */
  links?: LinkDeclaration[];
}

/** What every AWS node gets unless it says otherwise. */
export interface AwsDefaults {
  /** The EC2 instance type. */
  instanceType?: string;
}

/** What every GCP node gets unless it says otherwise. */
export interface GcpDefaults {
  /** The GCP project id. */
  project?: string;
  /** The machine type. */
  machineType?: string;
  /** The boot image. */
  image?: string;
  /** The VPC network name or self link. */
  network?: string;
}

/** What every Azure node gets unless it says otherwise. */
export interface AzureDefaults {
  /** The VM size. */
  vmSize?: string;
  /** The image URN publisher:offer:sku:version. */
  image?: string;
}

/** Placement values shared by every node of a cloud. */
export interface PlacementDefaults {
  /** Defaults for AWS nodes. */
  aws?: AwsDefaults;
  /** Defaults for GCP nodes. */
  gcp?: GcpDefaults;
  /** Defaults for Azure nodes. */
  azure?: AzureDefaults;
}

/** Where a site is. */
export interface SiteDeclaration {
  /** Latitude in degrees, -90 to 90. */
  lat: number;
  /** Longitude in degrees, -180 to 180. */
  lon: number;
}

/** The latency model's inputs from the stack: own sites, and measured round trips that override the model. */
export interface LatencyDeclaration {
  /** Site code (2-16 of a-z, 0-9 and -) to its coordinates. */
  sites?: { [code: string]: SiteDeclaration };
  /** Site code to { other site code: round trip in ms }. */
  rttMs?: { [code: string]: { [other: string]: number } };
}

/** An AWS region or Azure location that wg-mesh's cloud catalogue does not list (it is newer than the package). */
export interface ExtraRegion {
  /** The site code of its metro (a shipped one or one of latency.sites); without it, each node there gives its own site. */
  site?: string;
}

/** A GCP region that wg-mesh's cloud catalogue does not list, or zones it does not list yet. */
export interface ExtraGcpRegion {
  /** The site code of its metro (a shipped one or one of latency.sites); without it, each node there gives its own site. */
  site?: string;
  /** The letters of its zones, such as [a, b, c]; without them any letter is taken. */
  zones?: string[];
}

/**
 * Cloud regions newer than wg-mesh's catalogue (infra/latency/cloud-regions.json, which states the day it was
 * checked): every node's region, zone or location must be in one or the other.
 */
export interface ExtraRegions {
  /** AWS region name, such as ap-southeast-9, to its metro. */
  aws?: { [region: string]: ExtraRegion };
  /** GCP region name, such as asia-southeast9, to its metro and zones. */
  gcp?: { [region: string]: ExtraGcpRegion };
  /** Azure location name, such as taiwannorth, to its metro. */
  azure?: { [location: string]: ExtraRegion };
}

/** A named set of nodes for access rules: the nodes matching every attribute list given (any value within one list), plus the nodes and groups it names. */
export interface AccessGroupDeclaration {
  /** Nodes of these roles. */
  roles?: Role[];
  /** Nodes in these address-plan regions. */
  regions?: string[];
  /** Nodes in regions of these areas. */
  areas?: string[];
  /** Nodes on these clouds. */
  clouds?: Cloud[];
  /** Nodes at these sites. */
  sites?: string[];
  /** These nodes, by name, whatever their attributes. */
  nodes?: string[];
  /** Every member of these other groups. */
  groups?: string[];
}

/** An allow rule: who may open connections to whom, on what; replies pass with the connection. */
export interface AccessRuleDeclaration {
  /** Sources: group names, node names, or * for every node. */
  from: string[];
  /** Destinations: group names, node names, or * for every node. */
  to: string[];
  /** Services: tcp/443, tcp/8000-8100, udp/53, tcp, udp, icmp (echo), or any. */
  allow: string[];
}

/** An assertion the policy must hold, checked in the simulator on every ordered pair it names; wgmesh plan exits 3 and nothing deploys when it does not. */
export interface AccessTestDeclaration {
  /** Sources: group names, node names, or *. */
  from: string[];
  /** Destinations: group names, node names, or *. */
  to: string[];
  /** Services every pair must get, such as tcp/443. */
  accept?: string[];
  /** Services no pair may get, such as tcp/22. */
  deny?: string[];
}

/** Who may reach whom inside the mesh, enforced by nftables on every node; without it the mesh is flat (every flow allowed). */
export interface AccessDeclaration {
  /** Named sets of nodes, by name (1-40 of a-z, 0-9 and -, not a node's name). */
  groups?: { [name: string]: AccessGroupDeclaration };
  /** Allow rules, in order; a flow no rule allows is dropped at the first node that receives it. */
  rules?: AccessRuleDeclaration[];
  /** Assertions the policy must hold. */
  tests?: AccessTestDeclaration[];
  /** Which ICMP echo (ping) passes without a rule: all (default) or neighbours (direct neighbours only). */
  echo?: AccessEcho;
  /** Groups or nodes admins SSH from over the mesh: each other node must keep tcp/22 from them. */
  adminFrom?: string[];
}

/** A whole mesh: its address plan, its nodes and how they link. */
export interface MeshDeclaration {
  /** The overlay's CIDR: every overlay address lives in it, such as 10.50.0.0/16. */
  overlay: string;
  /** Which pairs of nodes get a direct link: hub, regional, full, or auto (chosen from the latency model). */
  topology: Topology;
  /** The name of the node whose role is hub. */
  hub: string;
  /** The UDP port every node listens on; default 51820. */
  listenPort?: number;
  /** PersistentKeepalive in seconds, 0 for off; default 25 (nodes behind NAT need it). */
  persistentKeepalive?: number;
  /** The tunnel MTU; default (or auto in YAML) the smallest underlay MTU of any link minus 80, never below 1280. */
  mtu?: number;
  /** Bump it to rotate every private and preshared key; default 1. */
  keyEpoch?: number;
  /** Seconds from the deploy that bumps keyEpoch to the moment every node switches to the new keys at once; default 120. */
  rotationMargin?: number;
  /** One PresharedKey per link; default false. */
  presharedKeys?: boolean;
  /**
   * The roles whose nodes may carry other nodes' traffic, in every topology (auto included); default [hub, pop].
   * Backends run workloads, so by default they do not; a node's own transit setting overrides its role's.
   */
  transitRoles?: Role[];
  /** CIDRs allowed to SSH in; empty or absent closes port 22. */
  adminCidrs?: string[];
  /**
   * The widest range adminCidrs may hold, as a prefix length; default 16 (65,536 addresses). A wider admin range is
   * refused unless this says so: set it to that range's prefix length to open SSH to it on purpose.
   */
  widestAdminCidr?: number;
  /** Other stacks whose nodes join this mesh, by full name (org/project/stack). */
  peerStacks?: string[];
  /** Placement values shared by every node of a cloud. */
  defaults?: PlacementDefaults;
  /** topology auto: every pair's overlay round trip at most max(maxStretch x direct, direct + 5 ms); default 1.3. */
  maxStretch?: number;
  /** topology auto: the most peers any node may have; default 16. */
  maxPeers?: number;
  /** Sites of one's own and measured round trips, on top of the latency data wg-mesh ships. */
  latency?: LatencyDeclaration;
  /** What the mesh survives without a deploy: none (default) or node (any single node; allows several hubs). */
  resilience?: Resilience;
  /** resilience node: the failover paths' stretch the plan reports misses of; default 2.0. */
  failoverMaxStretch?: number;
  /** Cloud regions, GCP zones and Azure locations newer than wg-mesh's catalogue. */
  extraRegions?: ExtraRegions;
  /** The address plan: region name to its subnet and area. */
  regions: { [name: string]: RegionDeclaration };
  /** The nodes, by name; the name is used in cloud resource names (1-24 of a-z, 0-9 and -). */
  nodes: { [name: string]: NodeDeclaration };
  /** Who may reach whom inside the mesh (groups, allow rules, tests); absent, every node reaches every other on every port. */
  access?: AccessDeclaration;
}
