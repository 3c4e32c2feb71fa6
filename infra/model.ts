import type { AccessSpec } from "./access/model";
import type { LatencySpec } from "./latency/model";

/**
 * The engine's data model: what a validated config declares (MeshSpec), what the
 * planner computes from it (MeshPlan), and what wg-quick files say (WgQuickConfig).
 * Plain data only, so every stage is a pure function from one of these to the next.
 */

export { Cloud, CLOUDS, Resilience, RESILIENCE_LEVELS, Role, ROLES, Topology, TOPOLOGIES, type TopologyMode } from "./declaration";
export type {
  AwsPlacement,
  AzurePlacement,
  ExternalPlacement,
  GcpPlacement,
  LinkDeclaration,
  MeshDeclaration,
  NodeDeclaration,
  PlacementDefaults,
  RegionDeclaration,
} from "./declaration";
import type { AwsPlacement, AzurePlacement, Cloud, ExternalPlacement, GcpPlacement, Role, TopologyMode } from "./declaration";

/** A GCP placement once validated: project and region are known. */
export interface ResolvedGcpPlacement extends GcpPlacement {
  project: string;
  region: string;
}

/** An external node's placement, or a node imported from another stack's `mesh` output. */
export interface ExternalNodePlacement extends ExternalPlacement {
  /** Set for nodes imported from another stack's `mesh` output. */
  publicKey?: string;
  /** The stack a node was imported from (StackReference name). */
  stack?: string;
}

export interface ExtraLinkSpec {
  peer: string;
  /** Routing cost of the link (estimated RTT in ms); defaults from the areas of its ends. */
  weight?: number;
}

export interface NodeSpec {
  name: string;
  role: Role;
  region: string;
  site: string;
  /** Overlay IPv4 address, without prefix. */
  address: string;
  cloud: Cloud;
  aws?: AwsPlacement;
  gcp?: ResolvedGcpPlacement;
  azure?: AzurePlacement;
  external?: ExternalNodePlacement;
  /** Underlay MTU of the node's network; defaults per cloud (gcp 1460, others 1500). */
  underlayMtu?: number;
  /** Whether it may carry others' traffic, when the declaration says so for this node; absent: its role decides (transitRoles). */
  transit?: boolean;
  links: ExtraLinkSpec[];
}

export interface RegionSpec {
  name: string;
  /** Address-plan subnet, e.g. 10.50.5.0/24. */
  subnet: string;
  /** Geographic area that groups regions, e.g. "apac"; the regional topology links POPs to backends of their area. */
  area: string;
}

/** A validated mesh declaration (`wg-mesh:mesh` in Pulumi.<stack>.yaml). Arrays keep declaration order. */
export interface MeshSpec {
  overlay: string;
  listenPort: number;
  persistentKeepalive: number;
  mtu: number | "auto";
  topology: TopologyMode;
  hub: string;
  keyEpoch: number;
  /** Seconds from the deploy that bumps keyEpoch to the moment every node switches; absent means the default (infra/rotation.ts). */
  rotationMargin?: number;
  presharedKeys: boolean;
  adminCidrs: string[];
  /** The roles whose nodes may carry others' traffic; absent means hub and pop (infra/plan/transit.ts). */
  transitRoles?: Role[];
  /** The widest admin range the declaration allows, as a prefix length; absent means the default (16). */
  widestAdminCidr?: number;
  regions: RegionSpec[];
  nodes: NodeSpec[];
  peerStacks: string[];
  /** topology auto: the bound on every pair's overlay round trip, max(maxStretch x direct, direct + 5 ms). Default 1.3. */
  maxStretch?: number;
  /** topology auto: the most peers any node may have. Default 16. */
  maxPeers?: number;
  /** The config's own sites and measured round trips, on top of the shipped latency data. */
  latency?: LatencySpec;
  /** "node": plan for any single node failure (resilient.ts). Absent: today's plan, byte for byte. */
  resilience?: "node";
  /** The bound on a failover path's stretch that the plan reports misses of; default 2.0. */
  failoverMaxStretch?: number;
  /** Who may reach whom inside the mesh (infra/access); absent for a flat mesh. */
  access?: AccessSpec;
}

/** One problem found in a config, as `path: message`. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** Thrown by validation and planning with every issue found; the CLI prints them one per line. */
export class MeshConfigError extends Error {
  /** `source`: where the config came from (a file name), for the summary line. */
  constructor(
    public readonly issues: ConfigIssue[],
    public readonly source?: string,
  ) {
    super(issues.map((i) => `${i.path}: ${i.message}`).join("\n"));
    this.name = "MeshConfigError";
  }
}

export type LinkOrigin = "hub" | "regional" | "full" | "auto" | "explicit" | "resilience";

export interface PlannedLink {
  /** "a--b" with a < b. */
  id: string;
  a: string;
  b: string;
  weight: number;
  origin: LinkOrigin;
  /**
   * A second way in for a node whose primary link or home may fail: configured and kept alive on
   * both ends, but it carries no AllowedIPs until the node's watchdog moves prefixes onto it.
   */
  backup?: boolean;
}

export interface SkippedLink {
  a: string;
  b: string;
  reason: string;
}

export interface PlannedPeer {
  name: string;
  linkId: string;
  /** Aggregated prefixes routed to this peer, longest-prefix match safe. */
  allowedIps: string[];
  /** True when this node writes an Endpoint for the peer (the peer has a public endpoint). */
  dialsPeer: boolean;
}

export interface PlannedNode {
  name: string;
  role: Role;
  cloud: Cloud;
  site: string;
  region: string;
  area: string;
  address: string;
  /** wg-quick Address, the node's address with its region's prefix length. */
  interfaceAddress: string;
  listenPort: number;
  underlayMtu: number;
  /** Reachable from the internet at a stable address (cloud VM or external with endpoint). */
  hasPublicEndpoint: boolean;
  /** Packets of other nodes cross it, so it needs ip_forward and the FORWARD rule. */
  forwarding: boolean;
  peers: PlannedPeer[];
  /** With resilience: what this node does when one of its peers stops answering (failover.ts). */
  failover?: FailoverEntry[];
}

/** When `lost` stops answering, these peers' AllowedIPs become these lists (others stay as they are). */
export interface FailoverEntry {
  lost: string;
  /** The lost peer's overlay address, which the watchdog pings (it stays on the peer's own link). */
  address: string;
  peers: { name: string; allowedIps: string[] }[];
}

/** How a resilient mesh is laid out: the nodes that route, and each other node's two ways in. */
export interface ResilienceLayout {
  /** Nodes that carry others' traffic, linked to each other so each hears of any one's death. */
  core: string[];
  /** Per node outside the core with transit needs: its primary home and its backup. */
  homes: { [node: string]: { primary: string; backup: string } };
}

export interface MeshPlan {
  spec: MeshSpec;
  mtu: number;
  /** Why the MTU is what it is, for people. */
  mtuReason: string;
  persistentKeepalive: number;
  links: PlannedLink[];
  /** Candidate links the planner dropped (no endpoint on either side, or never on a shortest path). */
  skippedLinks: SkippedLink[];
  nodes: PlannedNode[];
  /** Every ordered pair's path, walked on demand: a table of a thousand-node mesh would hold a million arrays. */
  routes: PlannedRoutes;
  /** Expected round trips of the planned paths, when the latency model knows the nodes' sites. */
  latency?: LatencyReport;
  /** With `resilience: node`: the core and homes the failover tables are built on. */
  resilience?: ResilienceLayout;
}

/**
 * The planned paths. Functions over a compact next-hop table rather than data, so that copying
 * a plan (Pulumi copies every input it is given) costs the node count, not its square.
 */
export interface PlannedRoutes {
  /** Node names, sorted; the indices below are into this list. */
  readonly names: readonly string[];
  indexOf(name: string): number | undefined;
  /** Index of the node `src` forwards to for `dst`; -1 when unreachable; src itself when src === dst. */
  next(src: number, dst: number): number;
  /** Node names from src to dst inclusive, as planned. */
  pathOf(src: string, dst: string): string[] | undefined;
  /** The whole table, next(s, d) at [s * n + d], for loops over every pair. */
  table(): Int32Array;
}

/** One ordered pair's planned path against its direct round trip. */
export interface PairLatency {
  from: string;
  to: string;
  path: string[];
  /** Sum of the model's round trips over the path's links. */
  pathMs: number;
  directMs: number;
  stretch: number;
  /** The auto bound max(maxStretch x direct, direct + 5 ms). */
  boundMs: number;
}

/** The planned paths' expected round trips, as a distribution and the pairs that matter. */
export interface LatencyReport {
  /** Ordered pairs whose sites the model knows, and so have figures. */
  pairs: number;
  /** Pairs without figures (a site the model cannot place). */
  unknown: number;
  stretch: { median: number; p90: number; p99: number; max: number };
  /** Pairs more than twice their direct round trip. */
  aboveTwice: number;
  /** Pairs within the auto bound (for any topology, as a yardstick). */
  withinBound: number;
  bound: { maxStretch: number; slackMs: number };
  /** The pairs using most of their bound (overlay / bound), largest first: near pairs are judged by the slack, far ones by the ratio. */
  worst: PairLatency[];
  /** Pairs over the bound, largest excess first (at most `missesListed`; `misses` counts them all). */
  missed: PairLatency[];
  misses: number;
  /** Where the round trips come from, e.g. { "azure-2025": 66, estimate: 0 } over node pairs' sites. */
  sources: Record<string, number>;
}

/** A parsed wg-quick file. Unknown keys are kept so nothing a user wrote is lost silently. */
export interface WgInterface {
  privateKey?: string;
  /** CIDRs as written (a bare address is kept as written; readers treat it as /32). */
  addresses: string[];
  listenPort?: number;
  mtu?: number;
  postUp: string[];
  postDown: string[];
  preUp: string[];
  preDown: string[];
  /** Other [Interface] keys by the spelling written (a Map: the keys are whatever the file says). */
  other: Map<string, string>;
}

export interface WgPeer {
  publicKey: string;
  presharedKey?: string;
  endpoint?: string;
  allowedIps: string[];
  persistentKeepalive?: number;
  /** The comment lines right above `[Peer]`, e.g. "# HKG POP - Hong Kong". */
  comment?: string;
}

export interface WgQuickConfig {
  iface: WgInterface;
  peers: WgPeer[];
}
