/**
 * Bookkeeping of what a lab created, written before each thing is created, so whoever
 * cleans up (this process on exit or signal, or a later `wgmesh lab down`) finds all of it.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isLabId } from "./naming";

export const STATE_DIR = "/run/wgmesh-lab";

export interface LabProcessRecord {
  pid: number;
  /** A string its command line must contain, so a recycled pid is never killed. */
  commandContains: string;
}

export interface LabNodeRecord {
  name: string;
  namespace: string;
  iface: string;
  underlay: string;
  overlay?: string;
}

export interface LabState {
  id: string;
  createdAt: string;
  /** The process that built the lab; while it lives and the lab is not kept, `lab down` leaves it alone. */
  ownerPid: number;
  kept: boolean;
  namespaces: string[];
  interfaces: { name: string; namespace: string }[];
  processes: LabProcessRecord[];
  sockets: string[];
  /** Config files, logs: everything lives in this folder. */
  workDir: string;
  /** A list, not a map keyed by name: node names are data and may be anything (`__proto__`). */
  nodes: LabNodeRecord[];
}

export function statePath(id: string): string {
  return join(STATE_DIR, `${id}.json`);
}

export function workDirOf(id: string): string {
  return join(STATE_DIR, id);
}

export function newState(id: string): LabState {
  return {
    id,
    createdAt: new Date().toISOString(),
    ownerPid: process.pid,
    kept: false,
    namespaces: [],
    interfaces: [],
    processes: [],
    sockets: [],
    workDir: workDirOf(id),
    nodes: [],
  };
}

export function saveState(state: LabState): void {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  const tmp = `${statePath(state.id)}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, statePath(state.id));
}

export function removeState(id: string): void {
  rmSync(statePath(id), { force: true });
}

export function readState(id: string): LabState | undefined {
  const file = statePath(id);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as LabState;
  } catch {
    return undefined;
  }
}

export function listLabIds(): string[] {
  if (!existsSync(STATE_DIR)) return [];
  return readdirSync(STATE_DIR)
    .map((f) => /^(.+)\.json$/.exec(f)?.[1])
    .filter((id): id is string => id !== undefined && isLabId(id));
}

/** A lab node's record by name. */
export function nodeRecord(state: LabState, name: string): LabNodeRecord | undefined {
  return state.nodes.find((n) => n.name === name);
}
