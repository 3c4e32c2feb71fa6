/**
 * Removing a lab. Synchronous on purpose: it must also run from a process 'exit' handler.
 * It works from the state file and then sweeps by the lab id, so whatever the bookkeeping
 * missed (a crash between creating a thing and recording it) goes too.
 * Order matters: interfaces first, then processes (a wireguard-go killed before its
 * interface is deleted can linger), then namespaces, sockets and files.
 */
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { removeOwnedFolder } from "../workspace/output";
import { runSync, sleepSync } from "./exec";
import { LAB_PREFIX } from "./naming";
import { removeState, workDirOf, type LabState } from "./state";

export const WG_SOCKET_DIR = "/var/run/wireguard";
const RUN_DIR = "/run";

export interface TeardownReport {
  interfaces: number;
  processes: number;
  namespaces: number;
  sockets: number;
}

/** What every name a lab creates starts with: interfaces `wgl<id>n<i>`, the relay's tag `wgl<id>-relay`. */
export function labTag(id: string): string {
  return `${LAB_PREFIX}${id}`;
}

export function labNamespacePrefix(id: string): string {
  return `${LAB_PREFIX}-${id}-`;
}

export function namespacesOfLab(id: string): string[] {
  const out = runSync("ip", ["netns", "list"]).stdout;
  return out
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(labNamespacePrefix(id)));
}

function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return undefined;
  }
}

/** Running means not gone and not a zombie waiting for its parent to reap it. */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Live processes whose command line carries the lab's tag (wireguard-go of its interfaces, its relay). */
export function processesOfLab(id: string): number[] {
  const tag = labTag(id);
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const cmd = commandLineOf(pid);
    if (cmd?.includes(tag) && isRunning(pid)) pids.push(pid);
  }
  return pids;
}

export function socketsOfLab(id: string): string[] {
  if (!existsSync(WG_SOCKET_DIR)) return [];
  const tag = labTag(id);
  return readdirSync(WG_SOCKET_DIR)
    .filter((f) => f.startsWith(tag) && f.endsWith(".sock"))
    .map((f) => join(WG_SOCKET_DIR, f));
}

/** The locks wgmesh-sync takes (/run/wgmesh-sync.<iface>.lock) when the lab applies a change through it. */
export function syncLocksOfLab(id: string): string[] {
  const prefix = `wgmesh-sync.${labTag(id)}`;
  if (!existsSync(RUN_DIR)) return [];
  return readdirSync(RUN_DIR)
    .filter((f) => f.startsWith(prefix) && f.endsWith(".lock"))
    .map((f) => join(RUN_DIR, f));
}

function linksIn(namespace: string): string[] {
  const out = runSync("ip", ["-n", namespace, "-o", "link", "show"]).stdout;
  return out
    .split("\n")
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

/** SIGTERM, a short wait, then SIGKILL for whatever still runs. */
export function stopProcesses(pids: number[], graceMs = 2000): number {
  const targets = pids.filter(isRunning);
  for (const pid of targets) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (targets.some(isRunning) && Date.now() < deadline) sleepSync(20);
  for (const pid of targets.filter(isRunning)) signal(pid, "SIGKILL");
  return targets.length;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export function teardownLab(id: string, state: LabState | undefined): TeardownReport {
  const tag = labTag(id);
  const namespaces = [...new Set([...(state?.namespaces ?? []), ...namespacesOfLab(id)])];
  const report: TeardownReport = { interfaces: 0, processes: 0, namespaces: 0, sockets: 0 };

  for (const ns of namespaces) {
    if (!namespacesOfLab(id).includes(ns)) continue;
    for (const link of linksIn(ns).filter((l) => l.startsWith(tag))) {
      if (runSync("ip", ["-n", ns, "link", "del", link]).code === 0) report.interfaces++;
    }
  }

  const recorded = (state?.processes ?? []).filter((p) => commandLineOf(p.pid)?.includes(p.commandContains)).map((p) => p.pid);
  report.processes = stopProcesses([...new Set([...recorded, ...processesOfLab(id)])]);

  for (const ns of namespaces) {
    if (runSync("ip", ["netns", "del", ns]).code === 0) report.namespaces++;
  }

  const sockets = new Set([...(state?.sockets ?? []), ...socketsOfLab(id)]);
  for (const sock of sockets) {
    if (existsSync(sock)) {
      rmSync(sock, { force: true });
      report.sockets++;
    }
  }

  for (const lock of syncLocksOfLab(id)) rmSync(lock, { force: true });
  // Only the folder this lab id names, and only if wg-mesh marked it: a state file is data and
  // never decides what gets deleted.
  removeOwnedFolder(workDirOf(id));
  removeState(id);
  return report;
}

/** Anything of this lab still on the machine, for tests and `lab down` to prove a clean exit. */
export function leftoversOfLab(id: string): string[] {
  return [
    ...namespacesOfLab(id).map((n) => `namespace ${n}`),
    ...processesOfLab(id).map((p) => `process ${p} (${commandLineOf(p) ?? "?"})`),
    ...socketsOfLab(id).map((s) => `socket ${s}`),
    ...syncLocksOfLab(id).map((l) => `lock ${l}`),
  ];
}
