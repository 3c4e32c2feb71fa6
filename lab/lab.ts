/**
 * The local lab: any mesh's wg-quick configs brought up on real WireGuard (wireguard-go)
 * in network namespaces. One "internet" namespace holds a bridge; every node gets its own
 * namespace with a veth into it and an underlay address from 198.18.0.0/15. Nothing is
 * connected to the host's namespaces and there is no default route anywhere, so no packet
 * can leave the lab.
 *
 * Configs are applied the way wg-quick would (wg setconf, Address, MTU, one route per
 * AllowedIPs prefix, forwarding), and changed by the sync unit's own wgmesh-sync script run
 * in the node's namespace, so what the lab proves is what the nodes will run.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isWireGuardKey, publicKeyFromPrivate } from "../infra/keys";
import type { WgQuickConfig } from "../infra/model";
import { shippedWatchdog } from "../infra/render/watchdog";
import { FAILOVER_FILE } from "../infra/failover/format";
import { renderAgentBundle, type AgentBundle } from "../infra/render/agent";
import { AGENT_MAX_PARTS, agentDelivery, agentPartName } from "../infra/render/agent-parts";
import type { Cloud } from "../infra/model";
import { shippedBootstrap } from "../infra/render/cloudinit";
import { renderPayload } from "../infra/render/payload";
import { rotationComment, type KeyRotation } from "../infra/rotation";
import { createScratchFolder } from "../workspace/output";
import { formatWgQuick, stripForWg } from "../infra/wgquick";
import { plainText, quoteWg } from "../infra/quote";
import { asConfigMap, judgeEndpoint, WG_QUICK_DEFAULT_MTU, type ConfigSet } from "../infra/simulate";
import { bringUpWaves, dialledPairs, labHostOwners, remapEndpoints, type LabAddress } from "./endpoints";
import { LabError } from "./errors";
import { allSettledOrThrow, firstLine, mapLimited, redactQuoted, run, sleep, tool, type RunResult } from "./exec";
import { guardLab, releaseLab } from "./exit-guard";
import { interpretHooks, type SkippedHook } from "./hooks";
import { rttBetween, type LatencyTable } from "./latency";
import {
  BRIDGE_IFACE,
  RELAY_ADDRESS,
  UNDERLAY_GATEWAY,
  UNDERLAY_IFACE,
  UNDERLAY_PREFIX_LEN,
  bridgePortName,
  internetNamespace,
  newLabId,
  nodeNamespace,
  underlayAddress,
  wgInterfaceName,
} from "./naming";
import { pingMatrix, type PingMatrix, type PingMatrixOptions, type PingTarget } from "./ping";
import { pingMatrixBatched, pingerInterpreter } from "./batch-ping";
import { assertLabCanRun } from "./preflight";
import { parseRouteShow, routeChanges, wantedRoutes } from "./routes";
import { listLabIds, newState, readState, saveState, type LabState } from "./state";
import { labVault, syncEnv, syncFilesOf, type SyncFiles } from "./sync-files";
import { WG_SOCKET_DIR, isRunning, labTag, namespacesOfLab, stopProcesses, teardownLab, type TeardownReport } from "./teardown";
import { WanRelay, type RelayPorts } from "./wan";

export interface LabOptions {
  /** node -> site code, to look up round trips in `latency`; a node without one is its own site. */
  sites?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** WAN round trips between sites, made by a relay in the internet namespace. */
  latency?: LatencyTable;
  /** Multiplies every delay (CI uses 0.1). Default 1. */
  scale?: number;
  onProgress?: (message: string) => void;
  /** Nodes brought up at once. Default 8. */
  concurrency?: number;
  /** node -> its failover.conf: the node runs wgmesh-watchdog with it, as a resilient node does. */
  failover?: ReadonlyMap<string, string>;
  /** Route every link through the relay even without `latency`, so links can be cut and made lossy. */
  impairable?: boolean;
  /** The node agent every node's vault serves; default this wg-mesh's (renderAgentBundle()). */
  agent?: AgentBundle;
  /**
   * The cloud whose vault the lab's files stand in for: the agent is written in as many parts as that
   * vault's per-secret limit needs (infra/render/agent-parts.ts), each file named as the part's secret.
   * Default none: no limit, one part.
   */
  vaultCloud?: Cloud;
}

/** One run of a node's wgmesh-sync under runTimers: when it started and ended (ms since the epoch), its exit code and log. */
export interface TimedRun {
  node: string;
  startedAt: number;
  endedAt: number;
  code: number;
  log: string[];
}

export interface LabNodeInfo {
  name: string;
  namespace: string;
  iface: string;
  underlay: string;
  overlay?: string;
  site: string;
  running: boolean;
}

export interface SkippedNodeHook extends SkippedHook {
  node: string;
}

const SOCKET_WAIT_MS = 5000;
const BRING_UP_SETTLE_MS = 10_000;
// GOMAXPROCS=1: a hundred wireguard-go on two cores spend their time handing packets between
// threads; with one each, a 100-node ping matrix took 21 s instead of 30.
const WG_ENV = { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1", LOG_LEVEL: "error", GOMAXPROCS: "1" };

interface LabNode {
  name: string;
  watchdog?: ChildProcess;
  index: number;
  namespace: string;
  iface: string;
  underlay: string;
  site: string;
  config: WgQuickConfig;
  publicKey: string;
  child?: ChildProcess;
  running: boolean;
  notes: string[];
  skipped: SkippedHook[];
  /** Files riding with its config through its vault (as nodeFiles gives a deployed node's). */
  files?: Record<string, string>;
}

interface RelayLink extends RelayPorts {
  a: string;
  b: string;
  rttMs: number;
}

function siteOf(sites: LabOptions["sites"], name: string): string {
  if (sites instanceof Map) return sites.get(name) ?? name;
  return sites && Object.hasOwn(sites, name) ? ((sites as Record<string, string>)[name] as string) : name;
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function overlayAddressOf(config: WgQuickConfig): string | undefined {
  const first = config.iface.addresses.find((a) => !a.includes(":"));
  return first?.split("/")[0];
}

/**
 * A node's public key, derived from its PrivateKey; the lab maps Endpoints by it. Checks
 * every key first so a bad one is named here, never echoed back by `wg setconf`.
 */
function publicKeyOf(node: string, config: WgQuickConfig): string {
  const key = config.iface.privateKey;
  if (!key) throw new LabError(`lab: ${node}: [Interface] PrivateKey is missing; the lab needs real keys (--stack makes throw-away ones)`);
  if (!isWireGuardKey(key)) throw new LabError(`lab: ${node}: [Interface] PrivateKey is not a WireGuard key (a placeholder?); the lab needs real keys (--stack makes throw-away ones)`);
  config.peers.forEach((peer, i) => {
    const which = `${node}: [Peer] #${i + 1}${peer.comment ? ` (${plainText(peer.comment.replace(/^#\s*/, "").split("\n")[0] ?? "", 40)})` : ""}`;
    // Shown hidden if it looks like key material: a PublicKey that is not one may be a pasted PrivateKey.
    if (!isWireGuardKey(peer.publicKey)) throw new LabError(`lab: ${which}: PublicKey ${quoteWg(peer.publicKey)} is not a WireGuard key`);
    if (peer.presharedKey !== undefined && !isWireGuardKey(peer.presharedKey)) throw new LabError(`lab: ${which}: PresharedKey is not a 32-byte base64 key (a placeholder?)`);
  });
  return publicKeyFromPrivate(key);
}

/** Resolves once node has reaped the child (its 'exit' event), so no zombie outlives the lab. */
function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

function readTail(file: string): string {
  try {
    const last = firstLine(readFileSync(file, "utf8").trim().split("\n").slice(-1)[0] ?? "");
    return last ? `: ${last}` : "";
  } catch {
    return "";
  }
}

export class Lab {
  readonly id: string;
  /** Milliseconds from start to every node configured. */
  upMs = 0;
  private readonly state: LabState;
  private readonly nodes = new Map<string, LabNode>();
  private readonly relayLinks = new Map<string, RelayLink>();
  private readonly pairsWithoutRtt = new Set<string>();
  private readonly childExits: Promise<void>[] = [];
  private relay?: WanRelay;
  private agent: AgentBundle;
  private nextIndex = 0;
  private tempCounter = 0;
  private closed = false;
  private kept = false;

  private constructor(private readonly opts: LabOptions) {
    let id = newLabId();
    while (readState(id) !== undefined || namespacesOfLab(id).length > 0) id = newLabId();
    this.id = id;
    this.state = newState(this.id);
    this.agent = opts.agent ?? renderAgentBundle();
  }

  /** Brings every node up; on any failure removes what it made and throws one line. */
  static async up(configSet: ConfigSet, opts: LabOptions = {}): Promise<Lab> {
    assertLabCanRun();
    const configs = asConfigMap(configSet);
    if (configs.size === 0) throw new LabError("lab: no nodes to bring up");
    const keys = new Map<string, string>();
    for (const [name, config] of configs) {
      const key = publicKeyOf(name, config);
      const twin = keys.get(key);
      if (twin) throw new LabError(`lab: ${twin} and ${name} have the same PrivateKey; every node needs its own`);
      keys.set(key, name);
    }
    const lab = new Lab(opts);
    try {
      await lab.build(configs);
    } catch (err) {
      lab.down();
      throw err;
    }
    return lab;
  }

  /** Removes one lab by id, from its state file and whatever carries its name. */
  static downById(id: string): TeardownReport {
    return teardownLab(id, readState(id));
  }

  /**
   * Removes kept labs and labs whose process died without cleaning up. A lab whose process
   * still runs it (a test, another `wgmesh lab`) is left alone and listed in `busy`.
   */
  static downAll(): { removed: string[]; busy: string[] } {
    const removed: string[] = [];
    const busy: string[] = [];
    for (const id of listLabIds()) {
      const state = readState(id);
      if (state && !state.kept && state.ownerPid !== process.pid && isRunning(state.ownerPid)) {
        busy.push(id);
        continue;
      }
      teardownLab(id, state);
      removed.push(id);
    }
    return { removed, busy };
  }

  private progress(message: string): void {
    this.opts.onProgress?.(message);
  }

  /** Once torn down there is nothing to record, and writing would bring the removed state file back. */
  private save(): void {
    if (!this.closed) saveState(this.state);
  }

  private get internet(): string {
    return internetNamespace(this.id);
  }

  private get concurrency(): number {
    return this.opts.concurrency ?? 8;
  }

  private async build(configs: ReadonlyMap<string, WgQuickConfig>): Promise<void> {
    const started = Date.now();
    // Marked as wg-mesh's own, so teardown removes this folder and nothing else.
    createScratchFolder(this.state.workDir, "lab");
    this.save();
    guardLab(this.id, { teardown: () => this.down(), exited: () => this.processesExited(), sweep: () => void teardownLab(this.id, undefined) });
    this.progress(`lab ${this.id}: ${configs.size} nodes, underlay 198.18.0.0/${UNDERLAY_PREFIX_LEN}`);
    await this.createInternet();
    const nodes = [...configs].map(([name, config]) => this.register(name, config));
    await allSettledOrThrow([this.startRelay(), mapLimited(nodes, this.concurrency, (n) => this.createNamespace(n))]);
    await mapLimited(nodes, this.concurrency, (n) => this.startWireGuard(n));
    // A peer holds one handshake at a time: when both ends' initiations are in flight at once,
    // each end takes the other's and drops its own, both answers are refused, and both retry
    // only after REKEY_TIMEOUT (5 s), again and again on delayed links. So nodes get their
    // peers one by one (a few ms each), each newcomer initiating towards peers that are
    // configured and idle; one-way dial targets come first (bringUpWaves). Everything else
    // runs in parallel, and the relay adds its delays only once the handshakes are done.
    await this.syncRelayLinks(false);
    await mapLimited(nodes, this.concurrency, (n) => this.prepareInterface(n));
    for (const wave of bringUpWaves(new Map(nodes.map((n) => [n.name, n.config])), this.nodeByPublicKey())) {
      for (const name of wave) await this.setPeers(this.nodes.get(name) as LabNode);
    }
    await mapLimited(nodes, this.concurrency, (n) => this.reconcile(n));
    if (this.relay) {
      await this.waitForHandshakes(BRING_UP_SETTLE_MS);
      await this.syncRelayLinks();
    }
    // The sync unit's first run, as on a new VM: it finds its config applied and records its state.
    await mapLimited(nodes, this.concurrency, (n) => this.runSyncUnit(n));
    for (const n of nodes) if (this.opts.failover?.has(n.name)) await this.startWatchdog(n);
    this.upMs = Date.now() - started;
    this.progress(`lab ${this.id}: up in ${(this.upMs / 1000).toFixed(1)}s`);
  }

  private async createInternet(): Promise<void> {
    this.assertOpen();
    const ns = this.internet;
    this.state.namespaces.push(ns);
    this.save();
    await run("ip", ["netns", "add", ns]);
    await this.ipBatch(ns, [
      "link set lo up",
      `link add ${BRIDGE_IFACE} type bridge`,
      `addr add ${UNDERLAY_GATEWAY}/${UNDERLAY_PREFIX_LEN} dev ${BRIDGE_IFACE}`,
      `addr add ${RELAY_ADDRESS}/${UNDERLAY_PREFIX_LEN} dev ${BRIDGE_IFACE}`,
      `link set ${BRIDGE_IFACE} up`,
    ]);
    this.progress(`internet: namespace ${ns}, bridge ${UNDERLAY_GATEWAY}/${UNDERLAY_PREFIX_LEN}`);
  }

  private async startRelay(): Promise<void> {
    this.assertOpen();
    if (!this.opts.latency && !this.opts.impairable) return;
    this.relay = await WanRelay.start(this.internet, this.state.workDir, `${labTag(this.id)}-relay`, (child) => {
      this.childExits.push(exitOf(child));
      this.state.processes.push({ pid: child.pid as number, commandContains: `${labTag(this.id)}-relay` });
      this.save();
    });
    this.progress(`internet: WAN relay at ${RELAY_ADDRESS} (${this.opts.latency ? `${this.opts.latency.label}, scale ${this.scale}` : "no delay"})`);
  }

  private get scale(): number {
    return this.opts.scale ?? 1;
  }

  private register(name: string, config: WgQuickConfig): LabNode {
    const index = this.nextIndex++;
    const taken = new Set(this.state.namespaces);
    const node: LabNode = {
      name,
      index,
      namespace: nodeNamespace(this.id, name, index, taken),
      iface: wgInterfaceName(this.id, index),
      underlay: underlayAddress(index),
      site: siteOf(this.opts.sites, name),
      config,
      publicKey: publicKeyOf(name, config),
      running: false,
      notes: [],
      skipped: [],
    };
    this.nodes.set(name, node);
    this.state.namespaces.push(node.namespace);
    this.state.nodes.push({ name, namespace: node.namespace, iface: node.iface, underlay: node.underlay, overlay: overlayAddressOf(config) });
    this.save();
    return node;
  }

  private ipBatch(namespace: string, commands: string[]): Promise<unknown> {
    if (commands.length === 0) return Promise.resolve();
    return run("ip", ["-n", namespace, "-batch", "-"], { input: `${commands.join("\n")}\n` });
  }

  private async createNamespace(node: LabNode): Promise<void> {
    this.assertOpen();
    const port = bridgePortName(node.index);
    await run("ip", ["netns", "add", node.namespace]);
    await this.ipBatch(this.internet, [`link add ${port} type veth peer name ${UNDERLAY_IFACE} netns ${node.namespace}`, `link set ${port} master ${BRIDGE_IFACE} up`]);
    await this.ipBatch(node.namespace, ["link set lo up", `addr add ${node.underlay}/${UNDERLAY_PREFIX_LEN} dev ${UNDERLAY_IFACE}`, `link set ${UNDERLAY_IFACE} up`]);
    this.progress(`${node.name}: namespace ${node.namespace}, underlay ${node.underlay}`);
  }

  private socketOf(node: LabNode): string {
    return join(WG_SOCKET_DIR, `${node.iface}.sock`);
  }

  private async startWireGuard(node: LabNode): Promise<void> {
    this.assertOpen();
    const socket = this.socketOf(node);
    // Only ever our own name: a socket left by a killed wireguard-go of this lab.
    rmSync(socket, { force: true });
    if (!this.state.sockets.includes(socket)) this.state.sockets.push(socket);
    if (!this.state.interfaces.some((i) => i.name === node.iface)) this.state.interfaces.push({ name: node.iface, namespace: node.namespace });
    const logFile = join(this.state.workDir, `${node.iface}.log`);
    const log = openSync(logFile, "a", 0o600);
    // Foreground (-f) so we hold the process; detached so a terminal's Ctrl-C reaches us first and we delete the interface before it dies.
    const child = spawn(tool("ip"), ["netns", "exec", node.namespace, tool("wireguard-go"), "-f", node.iface], {
      detached: true,
      stdio: ["ignore", log, log],
      env: { ...process.env, ...WG_ENV },
    });
    closeSync(log);
    if (child.pid === undefined) throw new LabError(`lab: ${node.name}: could not start wireguard-go`);
    node.child = child;
    this.childExits.push(exitOf(child));
    this.state.processes.push({ pid: child.pid, commandContains: node.iface });
    this.save();
    const deadline = Date.now() + SOCKET_WAIT_MS;
    while (!existsSync(socket)) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new LabError(`lab: ${node.name}: wireguard-go ${node.iface} exited before it was ready${readTail(logFile)}`);
      }
      if (Date.now() > deadline) throw new LabError(`lab: ${node.name}: wireguard-go made no ${socket} within ${SOCKET_WAIT_MS / 1000}s${readTail(logFile)}`);
      await sleep(10);
    }
    node.running = true;
    this.progress(`${node.name}: wireguard-go ${node.iface} (pid ${child.pid})`);
  }

  private nodeByPublicKey(): Map<string, string> {
    return new Map([...this.nodes.values()].map((n) => [n.publicKey, n.name]));
  }

  /** Relay sockets for every pair that dials the other and has a round trip in the table. */
  private async syncRelayLinks(delayed = true): Promise<void> {
    const relay = this.relay;
    const latency = this.opts.latency;
    if (!relay) return;
    const configs = new Map([...this.nodes.values()].map((n) => [n.name, n.config]));
    for (const [a, b] of dialledPairs(configs, this.nodeByPublicKey())) {
      const na = this.nodes.get(a) as LabNode;
      const nb = this.nodes.get(b) as LabNode;
      const rtt = latency ? rttBetween(latency, na.site, nb.site) : 0;
      const key = pairKey(a, b);
      if (rtt === undefined) {
        if (!this.pairsWithoutRtt.has(key)) this.progress(`latency: no round trip for ${a} (${na.site}) - ${b} (${nb.site}): no delay`);
        this.pairsWithoutRtt.add(key);
        continue;
      }
      const ports = await relay.link(
        key,
        { host: na.underlay, ...(na.config.iface.listenPort !== undefined ? { port: na.config.iface.listenPort } : {}) },
        { host: nb.underlay, ...(nb.config.iface.listenPort !== undefined ? { port: nb.config.iface.listenPort } : {}) },
        delayed ? (rtt * this.scale) / 2 : 0,
      );
      this.relayLinks.set(key, { ...ports, a, b, rttMs: rtt });
    }
  }

  /** The written port is kept: a port nobody listens on stays one, as it would on the internet. */
  private resolveEndpoint = (from: string, to: string, port: number): LabAddress | undefined => {
    const target = this.nodes.get(to);
    const listenPort = target?.config.iface.listenPort;
    if (!target || listenPort === undefined) return undefined;
    const link = this.relayLinks.get(pairKey(from, to));
    if (link && port === listenPort) return { host: RELAY_ADDRESS, port: from === link.a ? link.portForA : link.portForB };
    return { host: target.underlay, port };
  };

  private hostOwners(): Map<string, string> {
    return labHostOwners(new Map([...this.nodes.values()].map((n) => [n.name, n.config])), this.nodeByPublicKey());
  }

  /** Address, MTU and link up, as wg-quick does them around `wg setconf`. */
  private async prepareInterface(node: LabNode): Promise<void> {
    this.assertOpen();
    await this.ipBatch(node.namespace, [
      ...node.config.iface.addresses.map((a) => `addr add ${a} dev ${node.iface}`),
      `link set ${node.iface} mtu ${node.config.iface.mtu ?? WG_QUICK_DEFAULT_MTU} up`,
    ]);
  }

  /** The config as this node runs it: Endpoints remapped to the lab, and why some were dropped. */
  private labConfig(node: LabNode): WgQuickConfig {
    const { config, notes } = remapEndpoints(node.name, node.config, this.nodeByPublicKey(), this.hostOwners(), this.resolveEndpoint);
    node.notes = [...notes, ...wantedRoutes(node.config).notes.map((n) => `${node.name}: ${n}`)];
    node.skipped = interpretHooks(node.config.iface).skipped;
    return config;
  }

  /** Where a node's wgmesh-sync keeps its scripts, its vault file, the config it last applied and its state. */
  private syncPaths(node: LabNode): SyncFiles {
    return syncFilesOf(this.state.workDir, node.iface);
  }

  /**
   * Keys and peers as wg-quick up sets them: wg setconf on the stripped config. This is when
   * wireguard-go starts handshaking: it counts its interface as up from the moment it starts.
   * The config is also kept where wgmesh-sync keeps the one it applied, so a later apply()
   * starts from what the node runs.
   */
  private async setPeers(node: LabNode): Promise<void> {
    this.assertOpen();
    const config = this.labConfig(node);
    const file = join(this.state.workDir, `${node.iface}.${++this.tempCounter}.conf`);
    writeFileSync(file, stripForWg(config), { mode: 0o600 });
    try {
      await run("wg", ["setconf", node.iface, file]);
    } finally {
      rmSync(file, { force: true });
    }
    const paths = this.syncPaths(node);
    mkdirSync(paths.confDir, { recursive: true, mode: 0o700 });
    writeFileSync(paths.installed, formatWgQuick(config), { mode: 0o600 });
  }

  /** What wg-quick up does on the up link: a route per AllowedIPs prefix, and the forwarding switch of its PostUp. */
  private async reconcile(node: LabNode): Promise<void> {
    this.assertOpen();
    const hooks = interpretHooks(node.config.iface);
    const routes = wantedRoutes(node.config);
    const table = routes.table === undefined ? [] : ["table", routes.table];
    const installed = parseRouteShow((await run("ip", ["-n", node.namespace, "-4", "route", "show", "dev", node.iface, ...table])).stdout);
    const changes = routeChanges(installed, routes.prefixes);
    const suffix = table.length > 0 ? ` ${table.join(" ")}` : "";
    await this.ipBatch(node.namespace, [
      ...changes.add.map((p) => `route replace ${p} dev ${node.iface}${suffix}`),
      ...changes.remove.map((p) => `route del ${p} dev ${node.iface}${suffix}`),
    ]);
    await run("ip", ["netns", "exec", node.namespace, "sysctl", "-qw", `net.ipv4.ip_forward=${hooks.forwarding ? 1 : 0}`]);
    this.progress(`${node.name}: wg setconf ${node.iface}: ${node.config.peers.length} peers, ${routes.prefixes.length} routes${hooks.forwarding ? ", forwarding" : ""}`);
  }

  /** wg-quick up on a fresh interface. */
  private async configure(node: LabNode): Promise<void> {
    await this.prepareInterface(node);
    await this.setPeers(node);
    await this.reconcile(node);
  }

  /**
   * A changed config applied as a deployed node applies it: the real wgmesh-sync script (the
   * sync unit's, rendered for a file vault) runs in the node's namespace, fetches the new config
   * and applies it in place (peers, then routes, then changed hooks) or restarts the interface.
   */
  private async runSyncUnit(node: LabNode, header?: string[]): Promise<string> {
    this.assertOpen();
    this.publishConfig(node, header);
    const r = await this.runSyncScript(node);
    const log = r.stderr.trim().split("\n").filter(Boolean);
    if (r.code !== 0) throw new LabError(`lab: ${node.name}: wgmesh-sync failed: ${redactQuoted(log.at(-1) ?? `exit code ${r.code}`)}`);
    const outcome = log.at(-1) ?? "nothing to change";
    this.progress(`${node.name}: wgmesh-sync: ${outcome}`);
    return outcome;
  }

  /**
   * The node's entry into the files standing in for its vault, as `pulumi up` writes the vault's
   * secrets: the agent first, then the config entry that names it (renderPayload, as the stack
   * program makes it). The bootstrap is written once, as cloud-init installs it on a VM.
   */
  private publishConfig(node: LabNode, header?: string[]): void {
    const paths = this.syncPaths(node);
    mkdirSync(paths.confDir, { recursive: true, mode: 0o700 });
    const bootstrap = shippedBootstrap({ node: node.name, vault: labVault(paths), interfaceName: node.iface });
    if (!existsSync(paths.script)) writeFileSync(paths.script, bootstrap, { mode: 0o700 });
    const agent = agentDelivery(this.agent, this.opts.vaultCloud);
    agent.values.forEach((value, i) => writeFileSync(agentPartName(paths.agentVault, i + 1), value, { mode: 0o600 }));
    for (let part = agent.values.length + 1; part <= AGENT_MAX_PARTS; part++) rmSync(agentPartName(paths.agentVault, part), { force: true });
    const config = formatWgQuick(this.labConfig(node), header ? { header } : {});
    writeFileSync(paths.vault, renderPayload({ node: node.name, interfaceName: node.iface, config, files: node.files ?? {}, agent: agent.ref, bootstrap }), { mode: 0o600 });
  }

  /** One run of the node's wgmesh-sync, as its timer starts it; a failed run is an answer, not an error. */
  private runSyncScript(node: LabNode): Promise<RunResult> {
    const paths = this.syncPaths(node);
    return run("ip", ["netns", "exec", node.namespace, paths.script], {
      allowFailure: true,
      timeoutMs: 240_000,
      // A restart goes through wg-quick, which then starts wireguard-go itself; without LOG_LEVEL
      // that daemon lets go of this command's output, which is read until it closes.
      env: { ...syncEnv(paths), WG_QUICK_USERSPACE_IMPLEMENTATION: tool("wireguard-go"), WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1", GOMAXPROCS: WG_ENV.GOMAXPROCS },
    });
  }

  /** A node's vault entry for a wg0.conf text, as the stack program makes it (for tests that write the vault by hand). */
  vaultEntry(name: string, wgConf: string): string {
    const node = this.mustGet(name);
    const bootstrap = shippedBootstrap({ node: node.name, vault: labVault(this.syncPaths(node)), interfaceName: node.iface });
    return renderPayload({ node: node.name, interfaceName: node.iface, config: wgConf, agent: agentDelivery(this.agent, this.opts.vaultCloud).ref, bootstrap });
  }

  /**
   * A new node agent for every node, as a deploy of a new wg-mesh writes it: each node's vault gets the
   * agent, then its config entry naming it. Nothing runs: the nodes' timers (runTimers) or sync() take it.
   */
  setAgent(agent: AgentBundle): void {
    this.assertOpen();
    this.agent = agent;
    for (const node of this.nodes.values()) this.publishConfig(node);
  }

  /** The version of the agent a node runs (its current link), or undefined before its first run. */
  agentOf(name: string): string | undefined {
    const paths = this.syncPaths(this.mustGet(name));
    try {
      return /agents\/([^/]+)$/.exec(readlinkSync(join(paths.lib, "current")))?.[1];
    } catch {
      return undefined;
    }
  }

  /**
   * A node's new config into its vault only, as `pulumi up` writes it, with the files riding with it
   * (kept as they were when not given); the node's timer applies it (runTimers or sync()). The node
   * keeps its key (rotate() changes keys).
   */
  async publish(name: string, config: WgQuickConfig, files?: Record<string, string>): Promise<void> {
    this.assertOpen();
    const node = this.mustGet(name);
    if (publicKeyOf(name, config) !== node.publicKey) throw new LabError(`lab: ${name}: publish keeps the node's key; rotate() changes keys`);
    const unknown = interpretHooks(config.iface).skipped[0];
    if (unknown) throw new LabError(`lab: ${name}: its sync would run ${unknown.hook} = ${plainText(unknown.command, 120)}; the lab runs no hook but the forwarding pair`);
    node.config = config;
    if (files !== undefined) node.files = files;
    this.publishConfig(node);
    await this.syncRelayLinks();
  }

  /**
   * Every running node's wgmesh-sync on a timer, as wgmesh-sync.timer runs it on a VM, but every
   * `periodMs` (tests shorten the minute): each node starts at a random point of the first period,
   * then a period after its last start (OnUnitActiveSec), or at once when a run took longer. stop()
   * waits for the runs under way and returns every run, in the order they started.
   */
  runTimers(periodMs: number): { stop: () => Promise<TimedRun[]> } {
    this.assertOpen();
    const runs: TimedRun[] = [];
    let stopped = false;
    const loops = [...this.nodes.values()]
      .filter((n) => n.running)
      .map(async (node) => {
        await sleep(Math.floor(Math.random() * periodMs));
        while (!stopped && !this.closed) {
          const startedAt = Date.now();
          const r = await this.runSyncScript(node);
          runs.push({ node: node.name, startedAt, endedAt: Date.now(), code: r.code, log: r.stderr.trim().split("\n").filter(Boolean) });
          for (let left = startedAt + periodMs - Date.now(); left > 0 && !stopped; left -= 100) await sleep(Math.min(100, left));
        }
      });
    return {
      stop: async () => {
        stopped = true;
        await Promise.all(loops);
        return runs.sort((x, y) => x.startedAt - y.startedAt);
      },
    };
  }

  /** Runs a node's wgmesh-sync once (as its timer would) and says how it ended: exit code and log. */
  async sync(name: string): Promise<{ code: number; log: string[] }> {
    this.assertOpen();
    const r = await this.runSyncScript(this.mustGet(name));
    return { code: r.code, log: r.stderr.trim().split("\n").filter(Boolean) };
  }

  /**
   * A key rotation as a deploy makes it: every node's new config (each with its new PrivateKey and
   * its peers' new PublicKeys) reaches its vault carrying the rotation's "not before" time, then every
   * node's wgmesh-sync fetches it at once, holds it until that time and switches. Returns each node's
   * wgmesh-sync log.
   */
  async rotate(configs: Record<string, WgQuickConfig>, rotation: KeyRotation): Promise<Record<string, string[]>> {
    this.assertOpen();
    const header = [rotationComment(rotation)];
    const names = Object.keys(configs);
    for (const name of names) this.mustGet(name);
    const missing = [...this.nodes.keys()].filter((n) => !(n in configs));
    if (missing.length > 0) throw new LabError(`lab: a rotation gives every node new keys; no config for ${missing.join(", ")}`);
    // Every key changes at once, so the bookkeeping (endpoints are mapped by public key) moves first.
    for (const name of names) {
      const node = this.mustGet(name);
      node.config = configs[name] as WgQuickConfig;
      node.publicKey = publicKeyOf(name, node.config);
    }
    await this.syncRelayLinks();
    const running = names.map((n) => this.mustGet(n)).filter((n) => n.running);
    for (const node of running) this.publishConfig(node, header);
    const runs = await Promise.all(running.map(async (node) => [node, await this.runSyncScript(node)] as const));
    const logs: Record<string, string[]> = {};
    for (const [node, r] of runs) {
      logs[node.name] = r.stderr.trim().split("\n").filter(Boolean);
      if (r.code !== 0) throw new LabError(`lab: ${node.name}: wgmesh-sync failed: ${redactQuoted(logs[node.name]?.at(-1) ?? `exit code ${r.code}`)}`);
      this.progress(`${node.name}: wgmesh-sync: ${logs[node.name]?.at(-1) ?? "nothing to change"}`);
    }
    return logs;
  }

  private mustGet(name: string): LabNode {
    const node = this.nodes.get(name);
    if (!node) throw new LabError(`lab: no node ${name}; nodes: ${[...this.nodes.keys()].join(", ")}`);
    return node;
  }

  /** Called before anything is created, so nothing new starts once the lab is torn down (e.g. by Ctrl-C mid-way). */
  private assertOpen(): void {
    if (this.closed) throw new LabError(`lab ${this.id} is down`);
  }

  /**
   * A changed config on a running node, applied by the node's own wgmesh-sync (see runSyncUnit);
   * returns the script's last log line, e.g. "applied the new config to … in place". The script
   * runs the config's PostUp/PostDown when they change, so only the forwarding pair is accepted.
   */
  async apply(name: string, config: WgQuickConfig): Promise<string> {
    this.assertOpen();
    const node = this.mustGet(name);
    const key = publicKeyOf(name, config);
    const owner = this.nodeByPublicKey().get(key);
    if (owner !== undefined && owner !== name) throw new LabError(`lab: ${name}: its new PrivateKey is ${owner}'s`);
    const unknown = [...interpretHooks(node.config.iface).skipped, ...interpretHooks(config.iface).skipped][0];
    if (unknown) throw new LabError(`lab: ${name}: apply runs wgmesh-sync, which would run ${unknown.hook} = ${plainText(unknown.command, 120)}; the lab runs no hook but the forwarding pair`);
    node.config = config;
    node.publicKey = key;
    this.state.nodes = this.state.nodes.map((n) => (n.name === name ? { ...n, overlay: overlayAddressOf(config) } : n));
    this.save();
    await this.syncRelayLinks();
    return node.running ? this.runSyncUnit(node) : "not running: applied when it starts";
  }

  /** A new node joins the running lab. */
  async addNode(name: string, config: WgQuickConfig, site?: string): Promise<void> {
    this.assertOpen();
    if (this.nodes.has(name)) throw new LabError(`lab: a node named ${name} is already in the lab`);
    const key = publicKeyOf(name, config);
    const owner = this.nodeByPublicKey().get(key);
    if (owner !== undefined) throw new LabError(`lab: ${name} has the same PrivateKey as ${owner}`);
    const node = this.register(name, config);
    if (site !== undefined) node.site = site;
    await this.createNamespace(node);
    await this.startWireGuard(node);
    await this.syncRelayLinks();
    await this.configure(node);
    // Nodes that already named this key with an Endpoint had it dropped (no such node then): give it to them now.
    for (const other of this.nodes.values()) {
      if (other === node || !other.running) continue;
      if (other.config.peers.some((p) => p.publicKey === key && p.endpoint !== undefined)) await this.runSyncUnit(other);
    }
  }

  /** The node fails: its interface goes away and its wireguard-go ends. */
  async stopNode(name: string): Promise<void> {
    this.assertOpen();
    const node = this.mustGet(name);
    if (!node.running) return;
    node.running = false;
    // A dead node runs nothing: its watchdog goes with it.
    await this.stopWatchdog(node);
    await run("ip", ["-n", node.namespace, "link", "del", node.iface], { allowFailure: true });
    const child = node.child;
    if (child?.pid !== undefined) {
      const pid = child.pid;
      const deadline = Date.now() + 2000;
      while (isRunning(pid) && Date.now() < deadline) await sleep(20);
      stopProcesses([pid]);
      this.state.processes = this.state.processes.filter((p) => p.pid !== pid);
    }
    node.child = undefined;
    rmSync(this.socketOf(node), { force: true });
    this.save();
    this.progress(`${node.name}: stopped (${node.iface} deleted, wireguard-go ended)`);
  }

  /** The node comes back: a fresh wireguard-go with its last config, as after a reboot. */
  async startNode(name: string): Promise<void> {
    this.assertOpen();
    const node = this.mustGet(name);
    if (node.running) return;
    await this.startWireGuard(node);
    await this.configure(node);
    if (this.opts.failover?.has(node.name)) await this.startWatchdog(node);
  }

  /** wgmesh-watchdog in the node's namespace, with its failover.conf in wg0.d/ beside the config it runs. */
  private async startWatchdog(node: LabNode): Promise<void> {
    this.assertOpen();
    const paths = this.syncPaths(node);
    const table = this.opts.failover?.get(node.name);
    if (table === undefined) return;
    // Where a node's agent installs the files riding with wg0.conf: wg0.d/ beside it.
    const files = join(paths.confDir, `${node.iface}.d`);
    mkdirSync(files, { recursive: true, mode: 0o700 });
    writeFileSync(join(files, FAILOVER_FILE), table, { mode: 0o600 });
    const script = join(paths.dir, "wgmesh-watchdog");
    writeFileSync(script, shippedWatchdog(), { mode: 0o700 });
    const log = openSync(this.watchdogLogFile(node), "a", 0o600);
    const child = spawn(tool("ip"), ["netns", "exec", node.namespace, "bash", script], {
      detached: true,
      stdio: ["ignore", "ignore", log],
      env: { ...process.env, WGMESH_IFACE: node.iface, WGMESH_CONF_DIR: paths.confDir, WGMESH_STATE_DIR: paths.confDir, WGMESH_METRICS_DIR: paths.confDir, WGMESH_LOG_TIMES: "1" },
    });
    closeSync(log);
    if (child.pid === undefined) throw new LabError(`lab: ${node.name}: could not start wgmesh-watchdog`);
    node.watchdog = child;
    this.childExits.push(exitOf(child));
    this.state.processes.push({ pid: child.pid, commandContains: script });
    this.save();
    this.progress(`${node.name}: wgmesh-watchdog (pid ${child.pid})`);
  }

  private async stopWatchdog(node: LabNode): Promise<void> {
    const pid = node.watchdog?.pid;
    node.watchdog = undefined;
    if (pid === undefined) return;
    stopProcesses([pid]);
    const deadline = Date.now() + 2000;
    while (isRunning(pid) && Date.now() < deadline) await sleep(20);
    this.state.processes = this.state.processes.filter((p) => p.pid !== pid);
    this.save();
  }

  private watchdogLogFile(node: LabNode): string {
    return join(this.syncPaths(node).dir, "watchdog.log");
  }

  /** The node's watchdog log: each line with the time it was written (ms since the epoch). */
  watchdogLog(name: string): { atMs: number; line: string }[] {
    const file = this.watchdogLogFile(this.mustGet(name));
    if (!existsSync(file)) return [];
    return readFileSync(file, "utf8")
      .split("\n")
      .map((l) => /^(\d+) (.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ atMs: Number(m[1]), line: m[2] as string }));
  }

  /** What the node's watchdog last wrote for node_exporter, or undefined before its first reading. */
  watchdogMetrics(name: string): string | undefined {
    const node = this.mustGet(name);
    const file = join(this.syncPaths(node).confDir, `wgmesh-watchdog-${node.iface}.prom`);
    return existsSync(file) ? readFileSync(file, "utf8") : undefined;
  }

  /** The UDP between two nodes stops (or flows again), both ways: a link failure. Needs `impairable` or `latency`. */
  async cutLink(a: string, b: string, cut = true): Promise<void> {
    this.assertOpen();
    if (!this.relay) throw new LabError("lab: links can be cut only through the relay (impairable or latency)");
    if (!this.relayLinks.has(pairKey(a, b))) throw new LabError(`lab: ${a} and ${b} have no link through the relay`);
    await this.relay.impair({ key: pairKey(a, b), cut });
    this.progress(`${a}--${b}: ${cut ? "cut" : "restored"}`);
  }

  /** Drops this share of every datagram on every link, as a lossy underlay does. */
  async setLoss(rate: number): Promise<void> {
    this.assertOpen();
    if (!this.relay) throw new LabError("lab: loss is made by the relay (impairable or latency)");
    await this.relay.impair({ lossRate: rate });
  }

  nodeInfo(): LabNodeInfo[] {
    return [...this.nodes.values()].map((n) => ({
      name: n.name,
      namespace: n.namespace,
      iface: n.iface,
      underlay: n.underlay,
      overlay: overlayAddressOf(n.config),
      site: n.site,
      running: n.running,
    }));
  }

  /** Why Endpoints were dropped or prefixes not routed. */
  get notes(): string[] {
    return [...this.nodes.values()].flatMap((n) => n.notes);
  }

  /** PreUp/PostUp/PreDown/PostDown commands the lab did not run. */
  get skippedHooks(): SkippedNodeHook[] {
    return [...this.nodes.values()].flatMap((n) => n.skipped.map((s) => ({ node: n.name, ...s })));
  }

  /** Round trips the relay makes, per node pair (as in the latency table, before scale). */
  get emulatedLinks(): { a: string; b: string; rttMs: number }[] {
    return [...this.relayLinks.values()].map(({ a, b, rttMs }) => ({ a, b, rttMs }));
  }

  /**
   * Links expected to handshake on their own: one side has an Endpoint and a
   * PersistentKeepalive for the other, the other lists it back (else it refuses the
   * handshake, and waiting for one would only run out the clock), and both nodes run.
   */
  private selfStartingLinks(): [LabNode, LabNode][] {
    const byKey = this.nodeByPublicKey();
    const owners = this.hostOwners();
    const listenPortOf = (n: string): number | undefined => this.nodes.get(n)?.config.iface.listenPort;
    const seen = new Set<string>();
    const links: [LabNode, LabNode][] = [];
    for (const node of this.nodes.values()) {
      if (!node.running) continue;
      for (const peer of node.config.peers) {
        const other = this.nodes.get(byKey.get(peer.publicKey) ?? "");
        if (!other?.running || other === node || peer.endpoint === undefined || !peer.persistentKeepalive) continue;
        if (other.config.iface.listenPort === undefined) continue;
        // An Endpoint that leads elsewhere, or PresharedKeys that differ, never complete a handshake: waiting would only run out the clock.
        if (!judgeEndpoint(peer.endpoint, other.name, listenPortOf, owners).ok) continue;
        const back = other.config.peers.find((p) => p.publicKey === node.publicKey);
        if (!back || back.presharedKey !== peer.presharedKey) continue;
        const key = pairKey(node.name, other.name);
        if (seen.has(key)) continue;
        seen.add(key);
        links.push([node, other]);
      }
    }
    return links;
  }

  private async latestHandshakes(node: LabNode): Promise<Map<string, number>> {
    const out = (await run("wg", ["show", node.iface, "latest-handshakes"], { allowFailure: true })).stdout;
    return new Map(
      out
        .split("\n")
        .map((l) => l.split("\t"))
        .filter((f) => f.length === 2)
        .map(([key, at]) => [key as string, Number(at)]),
    );
  }

  /**
   * Waits until every self-starting link has completed a handshake, seen from both ends (a
   * restarted node's own view starts empty, so an old handshake does not count). With WAN
   * delay both ends' first initiations can cross in flight and both get dropped; WireGuard
   * retries after its 5 s REKEY_TIMEOUT, and pinging before that would call the pair dead.
   */
  async waitForHandshakes(timeoutMs: number): Promise<{ complete: number; expected: number }> {
    this.assertOpen();
    const links = this.selfStartingLinks();
    const deadline = Date.now() + timeoutMs;
    let complete = 0;
    for (;;) {
      const running = [...new Set(links.flat())];
      const views = new Map(await Promise.all(running.map(async (n) => [n.name, await this.latestHandshakes(n)] as const)));
      complete = links.filter(([a, b]) => (views.get(a.name)?.get(b.publicKey) ?? 0) > 0 && (views.get(b.name)?.get(a.publicKey) ?? 0) > 0).length;
      if (complete === links.length || Date.now() >= deadline) break;
      await sleep(200);
    }
    if (complete < links.length) this.progress(`handshakes: ${complete} of ${links.length} links after ${(timeoutMs / 1000).toFixed(0)}s`);
    return { complete, expected: links.length };
  }

  /**
   * Pings every ordered pair over the overlay. First waits (up to `settleMs`) for the links
   * that handshake on their own, so a slow first handshake is not mistaken for a dead pair.
   */
  async pingMatrix(options: PingMatrixOptions & { settleMs?: number; batch?: boolean } = {}): Promise<PingMatrix> {
    this.assertOpen();
    const { settleMs, ...pingOptions } = options;
    await this.waitForHandshakes(settleMs ?? (this.relay ? 20_000 : 8_000));
    const targets: PingTarget[] = [...this.nodes.values()].map((n) => ({ node: n.name, namespace: n.namespace, address: overlayAddressOf(n.config) }));
    const longest = Math.max(0, ...[...this.relayLinks.values()].map((l) => l.rttMs * this.scale));
    if (pingOptions.batch ?? pingerInterpreter() !== undefined) {
      // One pinger per node instead of a ping per pair: what makes a hundred-node lab quick.
      return pingMatrixBatched(targets, {
        timeoutMs: pingOptions.timeoutMs ?? Math.max(1000, Math.ceil(4 * longest) + 500),
        count: 1 + (pingOptions.rttSamples ?? (this.relay ? 3 : 0)),
        concurrency: pingOptions.concurrency ?? 32,
        ...(pingOptions.retries !== undefined ? { attempts: 1 + pingOptions.retries } : {}),
      });
    }
    return pingMatrix(targets, {
      // A multi-hop round trip can add up several links; leave room for two of the longest each way.
      timeoutMs: Math.max(1000, Math.ceil(4 * longest) + 500),
      rttSamples: this.relay ? 3 : 0,
      ...pingOptions,
    });
  }

  /** Leaves the lab running after this process ends; `wgmesh lab down` removes it. */
  keep(): void {
    this.assertOpen();
    this.kept = true;
    this.state.kept = true;
    this.save();
    releaseLab(this.id);
    for (const n of this.nodes.values()) n.child?.unref();
    this.relay?.detach();
  }

  /** Every process this lab started has exited and been reaped (after down(), or a kept lab's never). */
  processesExited(): Promise<void> {
    return Promise.all(this.childExits).then(() => undefined);
  }

  get isKept(): boolean {
    return this.kept;
  }

  /** Removes everything the lab made. Safe to call twice. */
  down(): TeardownReport {
    if (this.closed) return { interfaces: 0, processes: 0, namespaces: 0, sockets: 0 };
    this.closed = true;
    releaseLab(this.id);
    return teardownLab(this.id, this.state);
  }
}
