/**
 * What Hub, Pop and Backend share: the node's key, its own wg0.conf (rendered from its key and its
 * peers' public keys and endpoints, nothing else), its host on the node's cloud, and the outputs
 * operators and other stacks read. Each is usable on its own; the Mesh component computes their
 * peers from the plan.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsPlacement, AzurePlacement, ExternalPlacement, GcpPlacement } from "../infra/declaration";
import { sourceLimit, sourcesFromPeers } from "../infra/firewall";
import type { Cloud, ResolvedGcpPlacement, Role } from "../infra/model";
import { deployedAgent } from "../infra/render/agent";
import { agentDelivery } from "../infra/render/agent-parts";
import { renderCloudInit, shippedBootstrap } from "../infra/render/cloudinit";
import { extraFileProblems, renderPayload } from "../infra/render/payload";
import { userDataProblem } from "../infra/render/user-data-limits";
import { renderConfig, type PeerEntry } from "../infra/render/wgquick";
import { rotationComment } from "../infra/rotation";
import { freeUnderlayCidr } from "../infra/underlay";
import { vaultLocatorFor, type VaultLocator } from "../infra/vault";
import { MeshRunError } from "./errors";
import { AwsHost } from "./hosts/aws";
import { AzureHost } from "./hosts/azure";
import { externalHost } from "./hosts/external";
import { GcpHost } from "./hosts/gcp";
import type { AwsVault, AzureVault, GcpVault, HostArgs } from "./hosts/types";
import { nodeKey } from "./keys";

/** A [Peer] of a node's wg0.conf. */
export interface WireGuardPeer {
  /** The peer's name in the mesh. */
  name: string;
  /** The comment above its [Peer]; default its name. */
  comment?: string;
  /** Its WireGuard public key. */
  publicKey: pulumi.Input<string>;
  /** Where to dial it, host:port; leave it out for a peer that dials in (from behind NAT). */
  endpoint?: pulumi.Input<string>;
  /** AllowedIPs: the prefixes routed to this peer and accepted from it. */
  allowedIps: string[];
  /** A PresharedKey both ends share (secret). */
  presharedKey?: pulumi.Input<string>;
  /** PersistentKeepalive in seconds. */
  persistentKeepalive?: number;
}

/** A node of a WireGuard mesh, on a cloud or outside them. */
export interface MeshNodeArgs {
  /** The node's name in the mesh: it names its vault secret and tags (1-24 of a-z, 0-9 and -); default the component's name. */
  nodeName?: string;
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
  /** wg-quick Address: the node's overlay address with its prefix length, such as 10.50.5.1/24. */
  address: pulumi.Input<string>;
  /** The UDP port it listens on; default 51820. */
  listenPort?: number;
  /** The tunnel MTU; default 1420. */
  mtu?: pulumi.Input<number>;
  /** Whether it forwards other nodes' packets (a transit node); default false. */
  forwarding?: pulumi.Input<boolean>;
  /** Comment lines at the top of its wg0.conf. */
  comments?: pulumi.Input<pulumi.Input<string>[]>;
  /** Files that ride with its wg0.conf through its vault, by name (1-63 of a-z, 0-9, '.', '_', '-'; text lines): the node installs them beside wg0.conf, as one, and hands each to its agent's apply hook of that name (docs/node-agent.md). Cloud nodes only. */
  files?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Its peers. */
  peers: pulumi.Input<pulumi.Input<WireGuardPeer>[]>;
  /** Bump it to replace the node's private key; default 1. */
  keyEpoch?: number;
  /** When the node switches to this key epoch's config (RFC 3339, UTC, whole seconds): its sync unit holds the config until then, so every node switches at once. Absent: applied when fetched. */
  notBefore?: pulumi.Input<string>;
  /** CIDRs allowed to SSH in; empty or absent closes port 22. */
  adminCidrs?: string[];
  /** Sources admitted to the WireGuard port; default each peer's endpoint IP as /32, or 0.0.0.0/0 when a peer dials in from behind NAT or by name. */
  wireguardFrom?: pulumi.Input<pulumi.Input<string>[]>;
  /** The private range of the VNet made for an Azure node without subnetId; default a /24 clear of its address and its peers' AllowedIPs. */
  underlayCidr?: string;
  /** Enable the compute, iam and secretmanager APIs in a GCP node's project (left on at destroy); default true. The Mesh enables them once per project and passes false. */
  enableGcpApis?: boolean;
}

/** The public fields every node component has, set by buildMeshNode. */
export interface MeshNodeFields {
  nodeName: string;
  cloud: Cloud;
  overlayAddress: pulumi.Output<string>;
  publicKey: pulumi.Output<string>;
  publicIp: pulumi.Output<string | undefined>;
  endpoint: pulumi.Output<string | undefined>;
  vaultSecretRef: pulumi.Output<string | undefined>;
  sshHint: pulumi.Output<string>;
  wireguardFrom: pulumi.Output<string[]>;
  externalConfig: pulumi.Output<string | undefined>;
  instanceId: pulumi.Output<string | undefined>;
  bootstrapCheck: pulumi.Output<string | undefined>;
}

export const DEFAULT_LISTEN_PORT = 51820;
const DEFAULT_MTU = 1420;
const NODE_NAME = /^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$/;
const GCP_ZONE = /^([a-z]+-[a-z]+\d+)-[a-z]$/;

/** Roles others dial: they need a fixed public endpoint even outside the clouds. */
const DIALLED: ReadonlySet<Role> = new Set<Role>(["hub", "pop"]);

interface Placement {
  aws?: AwsPlacement;
  gcp?: ResolvedGcpPlacement;
  azure?: AzurePlacement;
  external?: ExternalPlacement;
}

/** The placement for the node's cloud, complete, or a RunError naming what is missing. */
function resolvePlacement(nodeName: string, args: MeshNodeArgs): Placement {
  const missing = (what: string): never => {
    throw new MeshRunError(`${nodeName}: cloud ${args.cloud} needs ${what}`);
  };
  switch (args.cloud) {
    case "aws":
      return { aws: args.aws ?? missing("aws: { region }") };
    case "gcp": {
      const gcp = args.gcp ?? missing("gcp: { project, zone }");
      const project = gcp.project ?? new pulumi.Config("gcp").get("project") ?? missing("gcp.project (or the gcp:project config)");
      const region = gcp.region ?? GCP_ZONE.exec(gcp.zone)?.[1] ?? missing(`gcp.region (zone ${JSON.stringify(gcp.zone)} does not name one)`);
      return { gcp: { ...gcp, project, region } };
    }
    case "azure":
      return { azure: args.azure ?? missing("azure: { location }") };
    case "external":
      return { external: args.external ?? {} };
  }
}

/** Builds a node beneath `self`, a Hub, Pop or Backend named `name`; its cloud resources wait for `opts.dependsOn`. */
export function buildMeshNode(self: pulumi.ComponentResource, role: Role, name: string, args: MeshNodeArgs, opts?: pulumi.ComponentResourceOptions): MeshNodeFields {
  const nodeName = args.nodeName ?? name;
  if (!NODE_NAME.test(nodeName)) {
    throw new MeshRunError(`${JSON.stringify(nodeName)}: a node name is 1-24 of a-z, 0-9 and -, starting with a letter (it names cloud resources); set nodeName`);
  }
  const placement = resolvePlacement(nodeName, args);
  if (DIALLED.has(role) && args.cloud === "external" && !placement.external?.endpoint) {
    throw new MeshRunError(`${nodeName}: a ${role} is dialled by others, so it needs a public endpoint (external.endpoint)`);
  }
  const listenPort = args.listenPort ?? DEFAULT_LISTEN_PORT;
  const adminCidrs = args.adminCidrs ?? [];
  const child = { parent: self };

  const keyEpoch = args.keyEpoch ?? 1;
  const key = nodeKey(`${name}-key`, keyEpoch, child);
  const peers = pulumi.output(args.peers);
  const wgConf = pulumi
    .all([key.privateKey, args.address, args.mtu ?? DEFAULT_MTU, args.forwarding ?? false, args.comments ?? [], peers, args.notBefore])
    .apply(([privateKey, address, mtu, forwarding, comments, ps, notBefore]) => {
      const header = notBefore === undefined ? comments : [...comments, rotationComment({ keyEpoch, notBefore })];
      return renderConfig({ header, address, listenPort, mtu, forwarding }, privateKey, ps.map(peerEntry));
    });
  const wireguardFrom = args.wireguardFrom ? pulumi.output(args.wireguardFrom) : defaultSources(args, adminCidrs);

  const overlayAddress = pulumi.output(args.address).apply((a) => a.split("/")[0] as string);
  const vault = vaultLocatorFor({ name: nodeName, cloud: args.cloud, ...placement }, pulumi.getProject(), pulumi.getStack());
  if (!vault) {
    const config = pulumi.secret(wgConf);
    const external = externalHost(nodeName, placement.external);
    const endpointHost = external.endpointHost;
    return {
      nodeName,
      cloud: args.cloud,
      overlayAddress,
      publicKey: key.publicKey,
      publicIp: external.publicIp,
      endpoint: pulumi.output(endpointHost === undefined ? undefined : `${endpointHost}:${listenPort}`),
      vaultSecretRef: pulumi.output<string | undefined>(undefined),
      sshHint: external.sshHint,
      wireguardFrom,
      // An external node is configured by hand, so its file is what it exports (still secret).
      externalConfig: config,
      instanceId: pulumi.output<string | undefined>(undefined),
      bootstrapCheck: pulumi.output<string | undefined>(undefined),
    };
  }

  const userData = renderCloudInit({ node: nodeName, vault });
  const tooLarge = userDataProblem(nodeName, args.cloud, userData);
  if (tooLarge) throw new MeshRunError(tooLarge);
  // The node's vault entry: wg0.conf, the files riding with it, the bootstrap's copy and the agent to run.
  // The agent in as many secrets as this cloud's vault needs for it (infra/render/agent-parts.ts).
  const agent = agentDelivery(deployedAgent(), args.cloud);
  const bootstrap = shippedBootstrap({ node: nodeName, vault });
  const config = pulumi.secret(
    pulumi.all([wgConf, args.files ?? {}]).apply(([conf, files]) => {
      const problems = extraFileProblems(files);
      if (problems.length > 0) throw new MeshRunError(`${nodeName}: files: ${problems.join("; ")}`);
      return renderPayload({ node: nodeName, config: conf, files, agent: agent.ref, bootstrap });
    }),
  );
  const host = cloudHost(self, name, {
    nodeName,
    role,
    project: pulumi.getProject(),
    stack: pulumi.getStack(),
    listenPort,
    adminCidrs,
    config,
    agent: agent.values.map((value) => pulumi.secret(value)),
    wireguardSources: wireguardFrom,
    userData,
    tags: { "wg-mesh-project": pulumi.getProject(), "wg-mesh-stack": pulumi.getStack(), "wg-mesh-node": nodeName, "wg-mesh-role": role },
  }, placement, vault, args, opts?.dependsOn);
  return {
    nodeName,
    cloud: args.cloud,
    overlayAddress,
    publicKey: key.publicKey,
    publicIp: host.publicIp,
    endpoint: host.publicIp.apply((ip) => `${ip}:${listenPort}`),
    vaultSecretRef: host.vaultSecretRef,
    sshHint: host.sshHint,
    wireguardFrom,
    externalConfig: pulumi.output<string | undefined>(undefined),
    instanceId: host.instanceId,
    bootstrapCheck: host.bootstrapCheck,
  };
}

/**
 * Each peer's endpoint IP as /32, or the world. Read from the endpoints alone where the peers are a
 * list, so a secret PresharedKey beside them does not make the firewall rule secret.
 */
function defaultSources(args: MeshNodeArgs, adminCidrs: readonly string[]): pulumi.Output<string[]> {
  const limit = sourceLimit(args.cloud, adminCidrs);
  if (!Array.isArray(args.peers)) return pulumi.output(args.peers).apply((ps) => sourcesFromPeers(ps, limit).cidrs);
  const endpoints = (args.peers as pulumi.Input<WireGuardPeer>[]).map((p) => {
    const peer = pulumi.Output.isInstance(p) || p instanceof Promise ? pulumi.output(p).apply((x) => ({ name: x.name, endpoint: x.endpoint })) : { name: p.name, endpoint: p.endpoint };
    return pulumi.output(peer).apply((x) => ({ name: x.name, ...(x.endpoint !== undefined ? { endpoint: x.endpoint } : {}) }));
  });
  return pulumi.all(endpoints).apply((ps) => sourcesFromPeers(ps, limit).cidrs);
}

/** A peer as unwrapped from its inputs. */
type ResolvedPeer = pulumi.Unwrap<WireGuardPeer>;

function peerEntry(p: ResolvedPeer): PeerEntry {
  return {
    comment: p.comment ?? p.name,
    publicKey: p.publicKey,
    allowedIps: p.allowedIps,
    ...(p.endpoint !== undefined ? { endpoint: p.endpoint } : {}),
    ...(p.presharedKey !== undefined ? { presharedKey: p.presharedKey } : {}),
    ...(p.persistentKeepalive !== undefined ? { persistentKeepalive: p.persistentKeepalive } : {}),
  };
}

function cloudHost(
  self: pulumi.ComponentResource,
  name: string,
  common: HostArgs,
  placement: Placement,
  vault: VaultLocator,
  args: MeshNodeArgs,
  dependsOn: pulumi.ComponentResourceOptions["dependsOn"],
): AwsHost | GcpHost | AzureHost {
  const opts = { parent: self, ...(dependsOn ? { dependsOn } : {}) };
  switch (args.cloud) {
    case "aws": {
      const region = (placement.aws as AwsPlacement).region;
      // Never the ambient aws:region: a node lands where its placement says.
      const provider = (self.getProvider("aws::Provider") as aws.Provider | undefined) ?? new aws.Provider(`${name}-aws`, { region }, opts);
      return new AwsHost(name, { ...common, placement: placement.aws as AwsPlacement, vault: vault as AwsVault, provider }, opts);
    }
    case "gcp":
      return new GcpHost(name, { ...common, placement: placement.gcp as ResolvedGcpPlacement, vault: vault as GcpVault, enableApis: args.enableGcpApis ?? true }, opts);
    case "azure": {
      const azure = placement.azure as AzurePlacement;
      const underlayCidr = azure.subnetId ? "" : (args.underlayCidr ?? defaultUnderlay(args));
      return new AzureHost(name, { ...common, placement: azure, vault: vault as AzureVault, underlayCidr }, opts);
    }
    case "external":
      throw new Error(`external node ${common.nodeName} has no cloud host`);
  }
}

/**
 * A standalone node knows only its own address and its peers' AllowedIPs; the VNet's range must stay
 * clear of both, or wg-quick would route the VM's own underlay into the tunnel. Those are plain values
 * in practice; when they are not, the caller must say.
 */
function defaultUnderlay(args: MeshNodeArgs): string {
  if (typeof args.address !== "string" || !Array.isArray(args.peers)) {
    throw new MeshRunError(`${args.nodeName ?? "node"}: an azure node without subnetId whose address or peers are not plain values needs underlayCidr`);
  }
  const taken = [args.address, ...args.peers.flatMap((p) => ((p as WireGuardPeer).allowedIps ?? []))];
  return freeUnderlayCidr(taken);
}

/** The user data a cloud node of this project and stack boots with; undefined for an external node. */
export function userDataOf(node: { name: string; cloud: Cloud; aws?: { region: string }; gcp?: { project: string } }, project: string, stack: string): string | undefined {
  const vault = vaultLocatorFor(node, project, stack);
  return vault ? renderCloudInit({ node: node.name, vault }) : undefined;
}
