/**
 * The stack program: declaration -> plan (with other stacks' nodes) -> one component per
 * local node -> each node's wg0.conf and firewall sources.
 *
 * Components are created at top level from the declaration alone. A node's config needs every
 * node's public key and public IP, and its firewall needs its peers' IPs, all of which are
 * outputs of components; so both reach the components as deferred outputs, resolved once every
 * component exists. With peerStacks the plan itself waits on other stacks' outputs, and only
 * those two inputs (secret strings and CIDR lists) wait with it, never a resource.
 */
import * as pulumi from "@pulumi/pulumi";
import { createMeshNode, PresharedKeys, type MeshNode } from "../components";
import { endpointHost, sourceLimit, wireguardSources } from "../infra/firewall";
import { crossStackDrift, mergePeerMeshes, type ImportedMesh, type PeerMesh } from "../infra/imports";
import { possibleLocalLinks } from "../infra/local-links";
import { buildMeshExport, type MeshExport } from "../infra/mesh-export";
import type { MeshPlan, MeshSpec, NodeSpec, Role, Cloud } from "../infra/model";
import { renderNodeConfig } from "../infra/render/wgquick";
import { summaryLine } from "../infra/simulate/lint";
import { underlayCidr } from "../infra/underlay";
import type { MeshStackInput } from "./config";
import { readPeerMeshes } from "./peers";
import { asRunError, provePlan, type ProvenPlan } from "./prove";
import { AwsProviders } from "./providers";

/** The plan of the whole mesh, this stack's nodes and every imported one. */
interface MeshState extends ProvenPlan {
  imported: ImportedMesh[];
}

/** Everything a node's config is rendered from, for every node of the mesh. */
interface Wiring {
  plan: MeshPlan;
  publicKeys: Record<string, string>;
  /** Hosts of every node with a public endpoint. */
  endpoints: Record<string, string>;
}

export interface NodeReport {
  role: Role;
  cloud: Cloud;
  publicIp: pulumi.Output<string | null>;
  overlayAddress: string;
  publicKey: pulumi.Output<string>;
  endpoint: pulumi.Output<string | null>;
  vaultSecretRef: pulumi.Output<string | null>;
  ssh: pulumi.Output<string>;
  /** Sources admitted to the WireGuard port. */
  wireguardFrom: pulumi.Output<string[]>;
}

export interface MeshSummary {
  topology: string;
  mtu: number;
  mtuReason: string;
  links: string[];
  skippedLinks: string[];
  reachable: string;
  reachablePairs: number;
  orderedPairs: number;
  importedFrom: { stack: string; nodes: string[] }[];
}

export interface MeshStackOutputs {
  nodes: Record<string, NodeReport>;
  summary: pulumi.Output<MeshSummary>;
  mesh: pulumi.Output<MeshExport>;
  /** Secret: wg0.conf of each external node, for its operator to install. */
  externalConfigs: pulumi.Output<Record<string, string>>;
}

interface Wired {
  node: NodeSpec;
  component: MeshNode;
  config: pulumi.Output<string>;
  sources: pulumi.Output<string[]>;
  resolveConfig: (config: pulumi.Output<string>) => void;
  resolveSources: (sources: pulumi.Output<string[]>) => void;
}

export function deployMesh(input: MeshStackInput): MeshStackOutputs {
  const { spec, project, stack } = input;
  const localNames = new Set(spec.nodes.map((n) => n.name));

  // Without peers the plan is proven before anything exists, so a bad mesh fails at once.
  const state: pulumi.Output<MeshState> =
    spec.peerStacks.length === 0
      ? (pulumi.output(meshState(spec, [], localNames)) as pulumi.Output<MeshState>)
      : readPeerMeshes(spec.peerStacks).apply((peers) => meshState(spec, peers, localNames));

  const providers = new AwsProviders(spec.nodes.flatMap((n) => (n.aws ? [n.aws.region] : [])));
  const needsVnet = spec.nodes.some((n) => n.cloud === "azure" && !n.azure?.subnetId);
  const azureUnderlayCidr = needsVnet ? underlayCidr(spec) : "";
  const wireNode = (node: NodeSpec): Wired => {
    const [config, resolveConfig] = pulumi.deferredOutput<string>();
    const [sources, resolveSources] = pulumi.deferredOutput<string[]>();
    const component = createMeshNode({
      node,
      project,
      stack,
      listenPort: spec.listenPort,
      keyEpoch: spec.keyEpoch,
      adminCidrs: spec.adminCidrs,
      config,
      wireguardSources: sources,
      ...(node.aws ? { awsProvider: providers.forRegion(node.aws.region) } : {}),
      azureUnderlayCidr,
    });
    return { node, component, config, sources, resolveConfig, resolveSources };
  };
  const wired: Wired[] = [];
  try {
    for (const node of spec.nodes) wired.push(wireNode(node));
  } catch (err) {
    // Nodes already made wait on their deferred inputs; failing those ends the update instead of hanging it.
    const failed = pulumi.output(Promise.reject(err));
    for (const w of wired) {
      w.resolveConfig(failed);
      w.resolveSources(failed);
    }
    throw err;
  }

  const presharedKeys = spec.presharedKeys
    ? pulumi.all(new PresharedKeys("preshared-keys", { links: possibleLocalLinks(spec), keyEpoch: spec.keyEpoch }).byLink)
    : pulumi.output(undefined);
  const publicKeys = pulumi.all(Object.fromEntries(wired.map((w) => [w.node.name, w.component.publicKey])));
  const endpointHosts = pulumi.all(Object.fromEntries(wired.map((w) => [w.node.name, w.component.endpointHost]))).apply(definedOnly);
  const wiring = pulumi.all([state, publicKeys, endpointHosts]).apply(([s, keys, hosts]) => wireUp(s, keys, hosts));

  for (const w of wired) {
    const name = w.node.name;
    const limit = sourceLimit(w.node.cloud, spec.adminCidrs);
    w.resolveSources(wiring.apply((x) => wireguardSources(x.plan, name, x.endpoints, limit).cidrs));
    w.resolveConfig(
      pulumi.secret(
        pulumi.all([wiring, w.component.privateKey, presharedKeys]).apply(([x, privateKey, psks]) =>
          renderNodeConfig(x.plan, name, { privateKey, publicKeys: x.publicKeys, endpoints: x.endpoints, ...(psks ? { presharedKeys: psks } : {}) }),
        ),
      ),
    );
  }

  return {
    nodes: Object.fromEntries(wired.map((w) => [w.node.name, nodeReport(w)])),
    summary: state.apply(summarize),
    mesh: pulumi.all([state, publicKeys, endpointHosts]).apply(([s, keys, hosts]) => buildMeshExport(spec, s.plan, keys, hosts)),
    externalConfigs: pulumi.secret(pulumi.all(Object.fromEntries(wired.filter((w) => w.node.cloud === "external").map((w) => [w.node.name, w.config])))),
  };
}

function meshState(spec: MeshSpec, peers: readonly PeerMesh[], localNames: ReadonlySet<string>): MeshState {
  let merged: { spec: MeshSpec; imported: ImportedMesh[] };
  try {
    merged = mergePeerMeshes(spec, peers);
  } catch (err) {
    throw asRunError(err, "peerStacks");
  }
  const proven = provePlan(merged.spec);
  for (const line of crossStackDrift(proven.plan, localNames, merged.imported)) void pulumi.log.warn(line);
  return { ...proven, imported: merged.imported };
}

/** Local keys and hosts joined with the imported nodes' published ones. */
function wireUp(state: MeshState, localKeys: Record<string, string>, localHosts: Record<string, string>): Wiring {
  const publicKeys = { ...localKeys };
  const endpoints = { ...localHosts };
  for (const node of state.plan.spec.nodes) {
    const ext = node.external;
    if (!ext?.stack) continue;
    if (ext.publicKey) publicKeys[node.name] = ext.publicKey;
    if (ext.endpoint) endpoints[node.name] = endpointHost(ext.endpoint);
  }
  return { plan: state.plan, publicKeys, endpoints };
}

function definedOnly(hosts: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(hosts).filter((e): e is [string, string] => e[1] !== undefined));
}

function nodeReport(w: Wired): NodeReport {
  const c = w.component;
  const orNull = (o: pulumi.Output<string | undefined>): pulumi.Output<string | null> => o.apply((v) => v ?? null);
  return {
    role: w.node.role,
    cloud: w.node.cloud,
    publicIp: orNull(c.publicIp),
    overlayAddress: c.overlayAddress,
    publicKey: c.publicKey,
    endpoint: orNull(c.endpoint),
    vaultSecretRef: orNull(c.vaultSecretRef),
    ssh: c.sshHint,
    wireguardFrom: w.sources,
  };
}

function summarize(s: MeshState): MeshSummary {
  return {
    topology: s.plan.spec.topology,
    mtu: s.plan.mtu,
    mtuReason: s.plan.mtuReason,
    links: s.plan.links.map((l) => l.id),
    skippedLinks: s.plan.skippedLinks.map((l) => `${l.a} -- ${l.b}: ${l.reason}`),
    reachable: summaryLine(s.report),
    reachablePairs: s.report.reachable,
    orderedPairs: s.report.total,
    importedFrom: s.imported.map((i) => ({ stack: i.stack, nodes: i.mesh.nodes.map((n) => n.name) })),
  };
}
