/**
 * The whole mesh as one component: a declaration in (the shape of `wg-mesh:mesh`), a plan proven in
 * the simulator, one Hub, Pop or Backend per node with its peers computed from the plan, and what
 * operators and other stacks read out.
 *
 * Nodes are made from the declaration alone. A node's peers need its peers' public keys and
 * endpoints, which are outputs of other nodes, so they reach each node as a deferred input resolved
 * once every node exists; each node's input holds exactly its own peers, so a change to one node
 * touches the inputs of that node and its peers only. With peerStacks the plan itself waits on other
 * stacks' outputs, and only those inputs (peers, MTU, forwarding) wait with it, never a resource.
 */
import * as pulumi from "@pulumi/pulumi";
import { MESH_TYPE, NODE_TYPES } from "./type-tokens";
import * as command from "@pulumi/command";
import { parseMeshConfig } from "../infra/config";
import type { MeshDeclaration } from "../infra/declaration";
import { issueLines } from "../infra/problem-lines";
import { endpointHost, sourceLimit, sourcesFromPeers } from "../infra/firewall";
import { crossStackDrift, mergePeerMeshes, type ImportedMesh, type PeerMesh } from "../infra/imports";
import { possibleLocalLinks } from "../infra/local-links";
import { buildMeshExport, type MeshExport } from "../infra/mesh-export";
import { plannedFacts, summarize, vaultReport, type MeshSummary, type NodeReport } from "../infra/mesh-report";
import { vaultLocatorFor } from "../infra/vault";
import { nodeFiles } from "../infra/render/node-files";
import { ROLES, type ConfigIssue, type MeshPlan, type MeshSpec, type NodeSpec, type Role } from "../infra/model";
import { endpointOf, nodeConfigPlan } from "../infra/render/wgquick";
import { DEFAULT_ROTATION_MARGIN, KEPT_ROTATION_KEY, keptRotationInstant, notBeforeOf, ROTATION_CLOCK_SCRIPT, rotationInstantOf, type KeyRotation } from "../infra/rotation";
import { parsePrefix } from "../infra/cidr";
import { underlayCidr } from "../infra/underlay";
import { AwsProviders } from "./aws-providers";
import { enableGcpApis } from "./gcp-apis";
import { azureImage, azureImageMismatch, azureVmSize, gcpImageProblem } from "../infra/host-defaults";
import { MeshRunError } from "./errors";
import { MeshNode, ROLE_CLASSES } from "./mesh-node";
import { PresharedKeys } from "./keys";
import { userDataOf, type MeshNodeArgs, type MeshNodeFields, type WireGuardPeer } from "./node";
import { userDataProblem } from "../infra/render/user-data-limits";
import { readPeerMeshes } from "./peer-stacks";
import { withShallowTraces } from "./shallow-traces";
import { asRunError, provePlan, type ProvenPlan } from "./prove";

/** A WireGuard mesh: its address plan, its nodes and how they link (the same shape as wg-mesh:mesh in stack config). */
export interface MeshArgs extends MeshDeclaration {}

/** The plan of the whole mesh: this mesh's nodes and every imported one. */
interface MeshState extends ProvenPlan {
  imported: ImportedMesh[];
}

type NodeComponent = MeshNode;

interface Wired {
  node: NodeSpec;
  component: NodeComponent;
  resolvePeers: (peers: pulumi.Output<pulumi.Unwrap<WireGuardPeer>[]>) => void;
  resolveSources: (sources: pulumi.Output<string[]>) => void;
}

/**
 * Node names this program's meshes have taken, per project and stack: vault names derive from them.
 * Kept per run (by the run's stack resource), so a process that runs the program more than once,
 * as tests and `wgmesh synth` do, starts each run afresh.
 */
const claimedByRun = new WeakMap<object, Map<string, string>>();
const claimedOutsideRuns = new Map<string, string>();

function claimedNames(): Map<string, string> {
  const run = pulumi.runtime.getStackResource();
  if (!run) return claimedOutsideRuns;
  let names = claimedByRun.get(run);
  if (!names) claimedByRun.set(run, (names = new Map()));
  return names;
}

/**
 * A multi-cloud WireGuard mesh: a hub, edge POPs and backends on AWS, GCP and Azure (or outside
 * them), with peers, AllowedIPs, endpoints, forwarding, MTU and keepalive computed from the
 * declaration and every ordered pair proven reachable before anything is deployed.
 */
export class Mesh extends pulumi.ComponentResource {
  /** Per node: role, cloud, public IP, overlay address, public key, endpoint, vault secret, how to log in, WireGuard sources. */
  declare readonly nodes: pulumi.Output<{ [name: string]: NodeReport }>;
  /** Links, MTU and how many ordered pairs the simulator carried. */
  declare readonly summary: pulumi.Output<MeshSummary>;
  /** What other stacks' peerStacks read (the stack program exports it as `mesh`): this mesh's public data, nothing secret. */
  declare readonly meshExport: pulumi.Output<MeshExport>;
  /** The wg0.conf of every external node, to install by hand (secret). */
  declare readonly externalConfigs: pulumi.Output<{ [name: string]: string }>;
  /** The key epoch and the moment every node switches to its keys (wgmesh plan --rotation explains it). */
  declare readonly keyRotation: pulumi.Output<KeyRotation>;

  constructor(name: string, args: MeshArgs, opts?: pulumi.ComponentResourceOptions) {
    super(MESH_TYPE, name, {}, opts);
    let spec: MeshSpec;
    const warnings: ConfigIssue[] = [];
    try {
      spec = parseMeshConfig(args, warnings);
    } catch (err) {
      throw asRunError(err, `the declaration of Mesh ${name}`);
    }
    // Allowed but probably unwise (an admin range of millions of addresses): shown by pulumi, not fatal.
    for (const line of issueLines(warnings)) void pulumi.log.warn(line, this);
    claimNodeNames(name, spec);
    refuseWhatCloudsWouldRefuse(spec);
    const localNames = new Set(spec.nodes.map((n) => n.name));

    // Without peers the plan is proven before anything exists, so a bad mesh fails at once.
    const stateNow = spec.peerStacks.length === 0 ? meshState(spec, [], localNames) : undefined;
    const state: pulumi.Output<MeshState> = stateNow
      ? (pulumi.output(stateNow) as pulumi.Output<MeshState>)
      : readPeerMeshes(spec.peerStacks, name, { parent: this }).apply((peers) => meshState(spec, peers, localNames));

    const providers = new AwsProviders(name, this, spec.nodes.flatMap((n) => (n.aws ? [n.aws.region] : [])));
    // One Service per GCP project and API, however many nodes the project holds.
    const gcpApis = new Map<string, pulumi.Resource[]>();
    for (const project of new Set(spec.nodes.flatMap((n) => (n.cloud === "gcp" && n.gcp ? [n.gcp.project] : [])))) {
      gcpApis.set(project, enableGcpApis(`${name}-${project}`, project, { parent: this }));
    }
    const needsVnet = spec.nodes.some((n) => n.cloud === "azure" && !n.azure?.subnetId);
    const azureUnderlay = needsVnet ? underlayCidr(spec) : undefined;
    const iface = state.apply((s) => Object.fromEntries(spec.nodes.map((n) => [n.name, nodeConfigPlan(s.plan, n.name).iface])));
    // The deploy that changes keyEpoch fixes the time; every later deploy keeps it, so no config is rewritten for it.
    const notBefore = rotationInstant(name, spec, this).apply((at) => notBeforeOf(at, spec.rotationMargin ?? DEFAULT_ROTATION_MARGIN));

    const presharedKeys = spec.presharedKeys
      ? new PresharedKeys(`${name}-preshared-keys`, { links: possibleLocalLinks(spec), keyEpoch: spec.keyEpoch }, { parent: this, aliases: [{ name: "preshared-keys", parent: pulumi.rootStackResource }] }).byLink
      : {};

    const buildNode = (node: NodeSpec): Wired => {
      const [peers, resolvePeers] = pulumi.deferredOutput<pulumi.Unwrap<WireGuardPeer>[]>();
      const [sources, resolveSources] = pulumi.deferredOutput<string[]>();
      const own = iface.apply((all) => all[node.name] as NonNullable<(typeof all)[string]>);
      const nodeArgs: MeshNodeArgs = {
        nodeName: node.name,
        cloud: node.cloud,
        ...placementOf(node),
        address: interfaceAddress(spec, node),
        listenPort: spec.listenPort,
        mtu: own.apply((i) => i.mtu),
        forwarding: own.apply((i) => i.forwarding),
        comments: own.apply((i) => i.header),
        // What rides with each cloud node's wg0.conf (infra/render/node-files.ts): a feature's table or ruleset.
        // The failover table names the node's peers by public key, so it waits for its peers as wg0.conf does.
        ...(node.cloud !== "external" ? { files: pulumi.all([state, peers]).apply(([s, ps]) => nodeFiles(s.plan, node.name, Object.fromEntries(ps.map((p) => [p.name, p.publicKey])))) } : {}),
        peers,
        // From the peers' endpoints alone: with presharedKeys the peers are secret, the firewall is not.
        wireguardFrom: sources,
        keyEpoch: spec.keyEpoch,
        notBefore,
        adminCidrs: spec.adminCidrs,
        ...(node.cloud === "azure" && azureUnderlay ? { underlayCidr: azureUnderlay } : {}),
        ...(node.cloud === "gcp" ? { enableGcpApis: false } : {}),
      };
      const apis = node.gcp ? gcpApis.get(node.gcp.project) : undefined;
      const nodeOpts: pulumi.ComponentResourceOptions = {
        parent: this,
        aliases: [
          // Before the Mesh component each node was a component at the stack's root named after the node.
          { name: node.name, parent: pulumi.rootStackResource },
          // A node whose role changes keeps its key, its VM and its address: only the component's type differs.
          ...ROLES.filter((r) => r !== node.role).map((r) => ({ type: NODE_TYPES[r] })),
        ],
        ...(node.aws ? { providers: [providers.forRegion(node.aws.region)] } : {}),
        ...(apis ? { dependsOn: apis } : {}),
      };
      return { node, component: nodeComponent(node.role, `${name}-${node.name}`, nodeArgs, nodeOpts), resolvePeers, resolveSources };
    };

    // Nodes are made a batch at a time, and a node is given its peers as soon as it and every peer of
    // it exist. Between batches the event loop turns, so what is already complete registers and is
    // let go: a preview of 1,000 nodes holds a batch and the nodes still waiting for peers, not all
    // 13,000 resources at once. (In an update each resource still waits for its cloud, as ever.)
    const byName = new Map<string, NodeComponent>();
    const wired: Wired[] = [];
    const connected = new Set<string>();
    const connect = (w: Wired): void => {
      connected.add(w.node.name);
      w.resolvePeers(state.apply((s) => peersOf(s.plan, w.node.name, byName, presharedKeys)));
      const limit = sourceLimit(w.node.cloud, spec.adminCidrs);
      w.resolveSources(state.apply((s) => peersOf(s.plan, w.node.name, byName, {}).apply((ps) => sourcesFromPeers(ps, limit).cidrs)));
    };
    // Who waits for whom; with peerStacks the plan is not known yet, so every node waits for the last.
    const waitingOn = new Map<string, string[]>();
    const missing = new Map<string, number>();
    for (const node of spec.nodes) {
      const peers = stateNow ? nodeConfigPlan(stateNow.plan, node.name).peers.map((p) => p.name).filter((p) => localNames.has(p)) : [];
      missing.set(node.name, 1 + peers.length);
      for (const p of peers) {
        const waiting = waitingOn.get(p);
        if (waiting) waiting.push(node.name);
        else waitingOn.set(p, [node.name]);
      }
    }
    const wiredByName = new Map<string, Wired>();
    const arrived = (w: Wired): void => {
      for (const n of [w.node.name, ...(waitingOn.get(w.node.name) ?? [])]) {
        const left = (missing.get(n) ?? 0) - 1;
        missing.set(n, left);
        const ready = wiredByName.get(n);
        if (left === 0 && ready && stateNow) connect(ready);
      }
    };
    const fail = (err: unknown): void => {
      // Nodes already made wait on their deferred peers; failing those ends the update instead of
      // hanging it. Each gets an error of its own: Pulumi prefixes the message of an input's error
      // at every property it passes, and one shared error would collect the prefixes of all.
      for (const w of wired) {
        if (connected.has(w.node.name)) continue;
        w.resolvePeers(pulumi.output(Promise.reject(ownCopy(err))));
        w.resolveSources(pulumi.output(Promise.reject(ownCopy(err))));
      }
    };
    const buildBatch = (nodes: readonly NodeSpec[]): void => {
      try {
        withShallowTraces(() => {
          for (const node of nodes) {
            const w = buildNode(node);
            wired.push(w);
            wiredByName.set(node.name, w);
            byName.set(node.name, w.component);
            arrived(w);
          }
        });
      } catch (err) {
        fail(err);
        throw err;
      }
    };
    // The first batch is made here, so a node the hosts refuse fails the constructor itself.
    buildBatch(spec.nodes.slice(0, NODES_PER_BATCH));
    const built: Promise<Wired[]> = (async () => {
      for (let i = NODES_PER_BATCH; i < spec.nodes.length; i += NODES_PER_BATCH) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        buildBatch(spec.nodes.slice(i, i + NODES_PER_BATCH));
      }
      for (const w of wired) if (!connected.has(w.node.name)) connect(w);
      return wired;
    })();
    const whenBuilt = <T>(f: (ws: Wired[]) => pulumi.Output<T>): pulumi.Output<T> =>
      pulumi.output(
        built.then(f, (err: unknown) => {
          throw ownCopy(err);
        }),
      ) as unknown as pulumi.Output<T>;

    const publicKeys = whenBuilt((ws) => pulumi.all(Object.fromEntries(ws.map((w) => [w.node.name, w.component.publicKey]))));
    const endpointHosts = whenBuilt((ws) =>
      pulumi
        .all(Object.fromEntries(ws.map((w) => [w.node.name, w.component.endpoint])))
        .apply((all) => Object.fromEntries(Object.entries(all).flatMap(([n, e]) => (e === undefined ? [] : [[n, endpointHost(e)]])))),
    );

    // Each node's report reads its own peers' endpoints only: read from every endpoint, each of a
    // thousand reports would carry (and copy, per step) the set of every node's resources.
    const peerHosts = (node: NodeSpec): pulumi.Output<Record<string, string>> =>
      state.apply((s) => {
        const peers = nodeConfigPlan(s.plan, node.name).peers.flatMap((p) => {
          const c = byName.get(p.name);
          return c ? [[p.name, c.endpoint] as const] : [];
        });
        return pulumi.all(Object.fromEntries(peers)).apply((all) => Object.fromEntries(Object.entries(all).flatMap(([n, e]) => (e === undefined ? [] : [[n, endpointHost(e)]]))));
      });
    const fields = {
      nodes: whenBuilt((ws) => pulumi.all(Object.fromEntries(ws.map((w) => [w.node.name, nodeReport(w.node, w.component, state, peerHosts(w.node))])))),
      summary: state.apply((s) => summarize(s.plan, s.report, s.imported, s.resilience)),
      meshExport: state.apply((s) => pulumi.all([publicKeys, endpointHosts]).apply(([keys, hosts]) => buildMeshExport(spec, s.plan, keys, hosts))),
      externalConfigs: pulumi.secret(
        whenBuilt((ws) => pulumi.all(Object.fromEntries(ws.filter((w) => w.node.cloud === "external").map((w) => [w.node.name, w.component.externalConfig])))),
      ) as pulumi.Output<{ [name: string]: string }>,
      keyRotation: notBefore.apply((at): KeyRotation => ({ keyEpoch: spec.keyEpoch, notBefore: at })),
    };
    Object.assign(this, fields);
    this.registerOutputs(fields);
  }
}

/**
 * The instant of the deploy that set the current keyEpoch. A local.Command (@pulumi/command, Pulumi's
 * own provider) runs the clock (infra/rotation.ts ROTATION_CLOCK_SCRIPT) only when its inputs change,
 * and they change with keyEpoch alone, so every other deploy reads the instant from the stack's state.
 * A stack made when the instant lived in a @pulumiverse/time Static carries it over once through the
 * KEPT_ROTATION_KEY config (docs/rotation-clock.md): the new resource is a new type from another
 * provider, which the engine would replace even under an alias, so only its inputs can carry the old
 * instant. With that set, the instant is known to the program itself, in previews too.
 */
function rotationInstant(name: string, spec: MeshSpec, parent: pulumi.Resource): pulumi.Output<string> {
  let kept: string | undefined;
  try {
    kept = keptRotationInstant(new pulumi.Config("wg-mesh").get(KEPT_ROTATION_KEY.slice("wg-mesh:".length)), spec.keyEpoch, spec.rotationMargin ?? DEFAULT_ROTATION_MARGIN);
  } catch (err) {
    throw new MeshRunError((err as Error).message);
  }
  const epoch = String(spec.keyEpoch);
  const clock = new command.local.Command(
    `${name}-key-rotation`,
    {
      create: ROTATION_CLOCK_SCRIPT,
      update: ROTATION_CLOCK_SCRIPT,
      environment: { WGMESH_KEY_EPOCH: epoch, ...(kept ? { WGMESH_ROTATION_KEPT: `${epoch} ${kept}` } : {}) },
      triggers: [epoch],
    },
    { parent },
  );
  return kept !== undefined ? pulumi.output(kept) : clock.stdout.apply((out) => {
    try {
      return rotationInstantOf(out, spec.keyEpoch);
    } catch (err) {
      throw new MeshRunError((err as Error).message);
    }
  });
}

/** The same failure as a new error (a RunError stays one, so Pulumi prints its message alone). */
function ownCopy(err: unknown): Error {
  if (!(err instanceof Error)) return new MeshRunError(String(err));
  const runError: boolean = pulumi.RunError.isInstance(err);
  const copy = runError ? new MeshRunError(err.message) : new Error(err.message);
  if (!runError && err.stack !== undefined) copy.stack = err.stack;
  return copy;
}

/** Small enough that a batch's resources are a few MB, large enough that turns of the event loop are few. */
const NODES_PER_BATCH = 50;

function nodeComponent(role: Role, name: string, args: MeshNodeArgs, opts: pulumi.ComponentResourceOptions): NodeComponent {
  return new ROLE_CLASSES[role](name, args, opts);
}

/**
 * Two meshes in one stack must not share node names: vault secrets are named by project, stack and
 * node, and two nodes would write one secret.
 */
function claimNodeNames(mesh: string, spec: MeshSpec): void {
  const scope = `${pulumi.getProject()}/${pulumi.getStack()}`;
  const clashes: string[] = [];
  const claimed = claimedNames();
  for (const node of spec.nodes) {
    const key = `${scope}/${node.name}`;
    const owner = claimed.get(key);
    if (owner !== undefined && owner !== mesh) clashes.push(`nodes.${node.name}: also a node of Mesh ${owner} in this stack; node names name vault secrets, so they are unique per stack`);
    else claimed.set(key, mesh);
  }
  if (clashes.length > 0) throw new MeshRunError(clashes.join("\n"));
}

/**
 * What a cloud would refuse that the declaration alone shows, for every node at once, before any
 * resource exists: user data over the cloud's limit, an Azure image that cannot boot on its size.
 * (The hosts check the same for a node used on its own.)
 */
function refuseWhatCloudsWouldRefuse(spec: MeshSpec): void {
  const problems = spec.nodes.flatMap((node) => {
    const text = userDataOf(node, pulumi.getProject(), pulumi.getStack());
    const tooLarge = text === undefined ? undefined : userDataProblem(node.name, node.cloud, text);
    const size = node.azure ? azureVmSize(node.role, node.azure.vmSize) : undefined;
    const mismatch = node.azure && size ? azureImageMismatch(azureImage(node.azure.image, size), size) : undefined;
    const image = node.gcp?.image === undefined ? undefined : gcpImageProblem(node.gcp.image);
    return [...(tooLarge ? [tooLarge] : []), ...(mismatch ? [`nodes.${node.name}.azure.image: ${mismatch}`] : []), ...(image ? [`nodes.${node.name}.gcp.image: ${image}`] : [])];
  });
  if (problems.length > 0) throw new MeshRunError([...problems, `${problems.length} problem${problems.length === 1 ? "" : "s"} a cloud would refuse; nothing was deployed`].join("\n"));
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

function placementOf(node: NodeSpec): Pick<MeshNodeArgs, "aws" | "gcp" | "azure" | "external"> {
  return {
    ...(node.aws ? { aws: node.aws } : {}),
    ...(node.gcp ? { gcp: node.gcp } : {}),
    ...(node.azure ? { azure: node.azure } : {}),
    ...(node.cloud === "external" ? { external: node.external?.endpoint ? { endpoint: node.external.endpoint } : {} } : {}),
  };
}

/** The node's address with its region's prefix length: known from the declaration alone. */
function interfaceAddress(spec: MeshSpec, node: NodeSpec): string {
  const region = spec.regions.find((r) => r.name === node.region);
  const len = region ? parsePrefix(region.subnet)?.len : undefined;
  if (len === undefined) throw new MeshRunError(`nodes.${node.name}.region: unknown region ${node.region}`);
  return `${node.address}/${len}`;
}

/** A node's [Peer] entries: the plan's, with each peer's key and endpoint from its component or its stack's output. */
function peersOf(plan: MeshPlan, nodeName: string, components: ReadonlyMap<string, NodeComponent>, psks: Readonly<Record<string, pulumi.Output<string>>>): pulumi.Output<pulumi.Unwrap<WireGuardPeer>[]> {
  const imported = new Map(plan.spec.nodes.filter((n) => n.external?.stack).map((n) => [n.name, n]));
  const entries = nodeConfigPlan(plan, nodeName).peers.map((p) => {
    const local = components.get(p.name);
    const theirs = imported.get(p.name);
    const publicKey: pulumi.Input<string> = local ? local.publicKey : (theirs?.external?.publicKey ?? "");
    let endpoint: pulumi.Input<string | undefined> = undefined;
    if (p.dials) {
      endpoint = local ? local.endpoint : theirs?.external?.endpoint !== undefined ? endpointOf(endpointHost(theirs.external.endpoint), p.listenPort) : undefined;
    }
    const psk = psks[p.linkId];
    return pulumi.output({
      name: p.name,
      comment: p.comment,
      publicKey,
      allowedIps: p.allowedIps,
      ...(p.persistentKeepalive !== undefined ? { persistentKeepalive: p.persistentKeepalive } : {}),
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(psk !== undefined ? { presharedKey: psk } : {}),
    });
  });
  return pulumi.all(entries) as pulumi.Output<pulumi.Unwrap<WireGuardPeer>[]>;
}

/** A node as an operator looks it up: the plan's facts, its peers as `wg show` should list them, its cloud's names. */
function nodeReport(node: NodeSpec, c: MeshNodeFields, state: pulumi.Output<MeshState>, hosts: pulumi.Output<Record<string, string>>): pulumi.Output<NodeReport> {
  const locator = vaultLocatorFor(node, pulumi.getProject(), pulumi.getStack());
  const outputs = pulumi.output({
    publicIp: c.publicIp,
    overlayAddress: c.overlayAddress,
    publicKey: c.publicKey,
    endpoint: c.endpoint,
    vaultSecretRef: c.vaultSecretRef,
    instance: c.instanceId,
    ssh: c.sshHint,
    bootstrap: c.bootstrapCheck,
    wireguardFrom: c.wireguardFrom,
  });
  // The state goes in by apply, never through all(): all() copies every plain object of its inputs'
  // values, and a copy of the whole plan per node made a preview of 1,000 nodes hold a million nodes.
  return state.apply((s) =>
    pulumi.all([hosts, outputs]).apply(([endpointHosts, { publicIp, overlayAddress, publicKey, endpoint, vaultSecretRef, instance, ssh, bootstrap, wireguardFrom }]) => {
      const vault = vaultReport(locator, vaultSecretRef);
      const imported = new Map(s.plan.spec.nodes.flatMap((n) => (n.external?.endpoint ? [[n.name, endpointHost(n.external.endpoint)] as const] : [])));
      const peers = nodeConfigPlan(s.plan, node.name).peers.map((p) => {
        const host = endpointHosts[p.name] ?? imported.get(p.name);
        return { name: p.name, allowedIps: p.allowedIps, ...(p.dials && host !== undefined ? { endpoint: endpointOf(host, p.listenPort) } : {}) };
      });
      return {
        role: node.role,
        cloud: c.cloud,
        ...plannedFacts(s.plan, node.name),
        ...(publicIp !== undefined ? { publicIp } : {}),
        overlayAddress,
        publicKey,
        ...(endpoint !== undefined ? { endpoint } : {}),
        peers,
        ...(vault ? { vault } : {}),
        ...(vaultSecretRef !== undefined ? { vaultSecretRef } : {}),
        ...(instance !== undefined ? { instance } : {}),
        ssh,
        ...(bootstrap !== undefined ? { bootstrap } : {}),
        wireguardFrom,
      };
    }),
  );
}
