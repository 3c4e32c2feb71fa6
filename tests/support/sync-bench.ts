/**
 * One node for the real node scripts: a network namespace made here with no route out, a unique
 * interface name (wireguard-go's sockets are not per namespace), the files standing in for its vault
 * (the config entry and the agent), its bootstrap as user data installs it and the folders that stand
 * for its agents, units and /etc/wireguard; and the checks that everything made is gone afterwards. Needs root, wireguard-go, wg,
 * wg-quick and /dev/net/tun (`syncBlocker` says which is missing).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { test } from "node:test";
import { generateKeyPair, type KeyPair } from "../../infra/keys";
import type { WgPeer, WgQuickConfig } from "../../infra/model";
import { formatWgQuick } from "../../infra/wgquick/format";
import { renderAgentBundle, type AgentBundle } from "../../infra/render/agent";
import { AGENT_MAX_PARTS, agentDelivery, agentPartName } from "../../infra/render/agent-parts";
import type { Cloud } from "../../infra/model";
import { shippedBootstrap } from "../../infra/render/cloudinit";
import { renderPayload } from "../../infra/render/payload";
import { fileVault, type VaultLocator } from "../../infra/vault";
import { findOnPath, labBlocker } from "../../lab/preflight";

export function syncBlocker(): string | undefined {
  const lab = labBlocker();
  if (lab) return lab;
  if (!findOnPath("wg-quick")) return "wg-quick not found on PATH: install wireguard-tools";
  return undefined;
}

const blocker = syncBlocker();

/** A test that needs real WireGuard; skipped, and said so loudly, where the machine cannot run it. */
let warned = false;
export function syncTest(name: string, fn: () => void | Promise<void>, timeout = 120_000): void {
  if (blocker && !warned) process.stderr.write(`\n*** SKIPPING the wgmesh-sync tests on real WireGuard: ${blocker} ***\n\n`);
  warned = true;
  test(name, { skip: blocker ? `cannot run here: ${blocker}` : false, timeout }, fn);
}

export interface Run {
  code: number;
  output: string;
}

export interface InterfaceState {
  ifindex: number;
  mtu: number;
  addresses: string[];
  /** Routes on the interface, host routes with their /32; connected ones marked "(kernel)". */
  routes: string[];
  /** PublicKey -> AllowedIPs as wg reports them. */
  peers: Record<string, string[]>;
  listenPort: number;
  /** The wireguard-go process serving the interface. */
  pid: number;
}

export function sh(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Run {
  const r = spawnSync(findOnPath(cmd) ?? cmd, args, { encoding: "utf8", timeout: 60_000, env: env ?? process.env });
  return { code: r.status ?? 1, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

export function must(cmd: string, args: string[]): string {
  const r = sh(cmd, args);
  assert.equal(r.code, 0, `${cmd} ${args.join(" ")}: ${r.output}`);
  return r.output;
}

/** Live wireguard-go processes serving `iface` (a daemonized one is found by its argv). */
export function wireguardGoPids(iface: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
      const state = readFileSync(`/proc/${entry}/stat`, "utf8").replace(/^.*\) /, "")[0];
      if (argv[0] && basename(argv[0]) === "wireguard-go" && argv.includes(iface) && state !== "Z") pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** One node: a namespace, a unique interface name, its vault's files, its bootstrap and agent folders. */
export class Bench {
  readonly id = randomBytes(3).toString("hex");
  readonly ns = `wgsync-${this.id}`;
  readonly iface = `wgsync-${this.id}`;
  readonly node = "bench";
  readonly dir = mkdtempSync(join(tmpdir(), "wgmesh-sync-"));
  readonly confDir = join(this.dir, "etc-wireguard");
  readonly vaultFile = join(this.dir, "vault", "wg0.conf");
  readonly agentFile = join(this.dir, "vault", "agent");
  /** The bootstrap: /usr/local/sbin/wgmesh-sync on a node. */
  readonly script = join(this.dir, "wgmesh-sync");
  readonly lib = join(this.dir, "lib");
  readonly bin = join(this.dir, "bin");
  readonly units = join(this.dir, "units");
  readonly console = join(this.dir, "console");
  readonly key: KeyPair = generateKeyPair();
  /** The agent publish() puts in the vault. */
  agent: AgentBundle = renderAgentBundle();
  /** The cloud whose vault the files stand in for: the agent goes in as many parts as it needs (none: one part). */
  vaultCloud: Cloud | undefined = undefined;
  vault: VaultLocator = fileVault(this.vaultFile, this.agentFile);
  private pathPrefix = "";

  constructor() {
    mkdirSync(join(this.dir, "vault"));
    this.useVault(this.vault);
    must("ip", ["netns", "add", this.ns]);
    must("ip", ["-n", this.ns, "link", "set", "lo", "up"]);
  }

  /** The bootstrap for `vault`, as user data installs it. */
  useVault(vault: VaultLocator, pathPrefix = ""): void {
    this.vault = vault;
    writeFileSync(this.script, this.bootstrap(), { mode: 0o700 });
    this.pathPrefix = pathPrefix;
  }

  bootstrap(): string {
    return shippedBootstrap({ node: this.node, vault: this.vault, interfaceName: this.iface });
  }

  /** The node's vault entry for a wg0.conf, as the stack program makes it (with files riding along). */
  entry(conf: string, files: Record<string, string> = {}, agent: AgentBundle = this.agent): string {
    return renderPayload({ node: this.node, interfaceName: this.iface, config: conf, files, agent: agentDelivery(agent, this.vaultCloud).ref, bootstrap: this.bootstrap() });
  }

  /** A wg0.conf into the vault as `pulumi up` writes it: the agent, then the entry naming it. */
  publish(conf: string, files: Record<string, string> = {}): void {
    this.publishAgent();
    writeFileSync(this.vaultFile, this.entry(conf, files), { mode: 0o600 });
  }

  /** The agent into the vault, in its parts (agentPartName: agent, agent-2, ...), and no part beyond them. */
  publishAgent(agent: AgentBundle = this.agent): void {
    const { values } = agentDelivery(agent, this.vaultCloud);
    values.forEach((value, i) => writeFileSync(agentPartName(this.agentFile, i + 1), value, { mode: 0o600 }));
    for (let part = values.length + 1; part <= AGENT_MAX_PARTS; part++) rmSync(agentPartName(this.agentFile, part), { force: true });
  }

  /** Text into the config's vault file exactly as given. */
  publishRaw(text: string): void {
    writeFileSync(this.vaultFile, text, { mode: 0o600 });
  }

  /** What every run is given: where the node's fixed paths are here. */
  env(): Record<string, string> {
    return {
      WGMESH_SYNC: this.script,
      WGMESH_CONF_DIR: this.confDir,
      WGMESH_LIB_DIR: this.lib,
      WGMESH_BIN_DIR: this.bin,
      WGMESH_UNIT_DIR: this.units,
      WGMESH_CONSOLE: this.console,
    };
  }

  /** The version of the agent the node runs, from its current link. */
  agentVersion(): string | undefined {
    try {
      return /agents\/([^/]+)$/.exec(readlinkSync(join(this.lib, "current")))?.[1];
    } catch {
      return undefined;
    }
  }

  /** Runs the bootstrap in the namespace, as the timer does; `extraEnv` comes last (a test's PATH, its curl config). */
  run(extraEnv: NodeJS.ProcessEnv = {}): Run {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.env(),
      WG_QUICK_USERSPACE_IMPLEMENTATION: findOnPath("wireguard-go") ?? "wireguard-go",
      WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1",
      PATH: `${this.pathPrefix}${process.env.PATH ?? "/usr/bin:/bin"}`,
      ...extraEnv,
    };
    return sh("ip", ["netns", "exec", this.ns, this.script], env);
  }

  state(): InterfaceState {
    const [link] = JSON.parse(must("ip", ["-n", this.ns, "-j", "addr", "show", "dev", this.iface])) as {
      ifindex: number;
      mtu: number;
      addr_info: { family: string; local: string; prefixlen: number }[];
    }[];
    assert.ok(link);
    const routes = (JSON.parse(must("ip", ["-n", this.ns, "-j", "route", "show", "dev", this.iface])) as { dst: string; protocol?: string }[]).map(
      (r) => `${r.dst.includes("/") ? r.dst : `${r.dst}/32`}${r.protocol === "kernel" ? " (kernel)" : ""}`,
    );
    const peers: Record<string, string[]> = {};
    for (const line of must("ip", ["netns", "exec", this.ns, "wg", "show", this.iface, "allowed-ips"]).trim().split("\n").filter(Boolean)) {
      const [key, ips] = line.split("\t");
      peers[key as string] = ips === "(none)" ? [] : (ips ?? "").split(" ").sort();
    }
    // A restarted interface's old wireguard-go may take a moment to exit.
    let pids = wireguardGoPids(this.iface);
    for (let i = 0; i < 40 && pids.length > 1; i++, pids = wireguardGoPids(this.iface)) sleepMs(50);
    assert.equal(pids.length, 1, `one wireguard-go for ${this.iface}, found ${pids.join(",")}`);
    return {
      ifindex: link.ifindex,
      mtu: link.mtu,
      addresses: link.addr_info.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`),
      routes: routes.sort(),
      peers,
      listenPort: Number(must("ip", ["netns", "exec", this.ns, "wg", "show", this.iface, "listen-port"]).trim()),
      pid: pids[0] as number,
    };
  }

  /** wireguard-go's UDP sockets in the namespace as "address inode": a rebind shows as a new inode. */
  udpSockets(): string[] {
    return must("ip", ["netns", "exec", this.ns, "ss", "-H", "-u", "-a", "-n", "-e"])
      .trim()
      .split("\n")
      .filter((line) => line.includes("ino:"))
      .map((line) => `${line.trim().split(/\s+/)[3]} ${/ino:(\d+)/.exec(line)?.[1]}`)
      .sort();
  }

  installedConfig(): string | undefined {
    const path = join(this.confDir, `${this.iface}.conf`);
    return existsSync(path) ? readFileSync(path, "utf8") : undefined;
  }

  installedMode(): number {
    return statSync(join(this.confDir, `${this.iface}.conf`)).mode & 0o777;
  }

  /** The interface first, then its process (one killed first can linger), then the rest. */
  destroy(): void {
    sh("ip", ["-n", this.ns, "link", "del", this.iface]);
    for (let i = 0; i < 40 && wireguardGoPids(this.iface).length > 0; i++) sleepMs(50);
    for (const pid of wireguardGoPids(this.iface)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(`/var/run/wireguard/${this.iface}.sock`, { force: true });
    rmSync(`/run/wgmesh-sync.${this.iface}.lock`, { force: true });
    sh("ip", ["netns", "del", this.ns]);
    rmSync(this.dir, { recursive: true, force: true });
  }

  assertGone(): void {
    assert.deepEqual(wireguardGoPids(this.iface), [], "wireguard-go left running");
    assert.equal(existsSync(`/var/run/wireguard/${this.iface}.sock`), false, "socket left behind");
    assert.ok(!sh("ip", ["netns", "list"]).output.includes(this.ns), "namespace left behind");
  }
}

export function withBench(body: (b: Bench) => void): void {
  const bench = new Bench();
  try {
    body(bench);
  } finally {
    bench.destroy();
  }
  bench.assertGone();
}

export const peerKeys = Array.from({ length: 4 }, () => generateKeyPair().publicKey);

export function config(b: Bench, over: { address?: string; mtu?: number; port?: number; postUp?: string[]; postDown?: string[]; peers?: WgPeer[] } = {}): string {
  const cfg: WgQuickConfig = {
    iface: {
      privateKey: b.key.privateKey,
      addresses: [over.address ?? "10.50.5.1/24"],
      listenPort: over.port ?? 51820,
      mtu: over.mtu ?? 1380,
      postUp: over.postUp ?? [],
      postDown: over.postDown ?? [],
      preUp: [],
      preDown: [],
      other: new Map(),
    },
    peers: over.peers ?? [
      // Endpoints in 198.18.0.0/15 only; the namespace has no route anywhere anyway.
      { publicKey: peerKeys[0] as string, allowedIps: ["10.50.1.1/32"], endpoint: "198.18.1.2:51820", comment: "gru" },
      // 10.50.5.7/32 sits in the interface's own subnet: wg-quick makes no route for it.
      { publicKey: peerKeys[1] as string, allowedIps: ["10.50.2.0/24", "10.50.5.7/32"], comment: "iad" },
    ],
  };
  return formatWgQuick(cfg, { header: ["test node, generated"] });
}

export function assertNoKeyIn(output: string, b: Bench): void {
  assert.ok(!output.includes(b.key.privateKey), "the private key reached the log");
}
