/**
 * `wgmesh doctor` on lab nodes: the node's own doctor script (the current agent's wgmesh, which a
 * VM has as /usr/local/sbin/wgmesh) run inside the node's namespace, against that node's sync unit
 * (its bootstrap, vault files, agent, applied config and state). Works from the lab's state file, so
 * a lab kept by an earlier process can be examined too.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { LabError } from "./errors";
import { run } from "./exec";
import { isRunning } from "./teardown";
import { listLabIds, nodeRecord, readState, type LabState } from "./state";
import { syncEnv, syncFilesOf } from "./sync-files";

export interface DoctorOptions {
  /**
   * The sync timer's period the doctor holds the last run against; default 0, for a lab runs its
   * nodes' sync units on demand, never on a timer.
   */
  syncPeriodSeconds?: number;
}

export interface NodeDoctor {
  node: string;
  /** 0 healthy, 1 problems, 2 could not look. */
  code: number;
  /** The doctor's lines as it printed them (problems, notes and its closing line). */
  lines: string[];
}

/** Runs the node doctor of one lab node. */
export async function doctorLabNode(state: LabState, node: string, opts: DoctorOptions = {}): Promise<NodeDoctor> {
  const record = nodeRecord(state, node);
  if (!record) throw new LabError(`doctor: lab ${state.id} has no node ${node}; its nodes: ${state.nodes.map((n) => n.name).join(", ")}`);
  const files = syncFilesOf(state.workDir, record.iface);
  // The doctor of the agent the node runs, as `sudo wgmesh doctor` runs it on a VM.
  const doctor = join(files.lib, "current", "wgmesh");
  if (!existsSync(doctor)) throw new LabError(`doctor: ${node} has no node agent installed (${doctor} is missing); run its sync once`);
  const r = await run("ip", ["netns", "exec", record.namespace, doctor, "doctor"], {
    allowFailure: true,
    timeoutMs: 120_000,
    env: { ...syncEnv(files), WGMESH_SYNC_PERIOD: String(opts.syncPeriodSeconds ?? 0) },
  });
  const lines = `${r.stdout}${r.stderr}`.split("\n").filter(Boolean);
  return { node, code: r.code, lines };
}

/** Every node of the lab, one after another (their pings to far ends would compete otherwise). */
export async function doctorLab(state: LabState, opts: DoctorOptions = {}): Promise<NodeDoctor[]> {
  const out: NodeDoctor[] = [];
  for (const node of state.nodes.map((n) => n.name)) out.push(await doctorLabNode(state, node, opts));
  return out;
}

/** The lab to examine: the one named, or the only one on this machine (kept, or run by a live process). */
export function findLab(id: string | undefined): LabState {
  if (id !== undefined) {
    if (!/^[0-9a-f]{6}$/.test(id)) throw new LabError(`doctor --id ${JSON.stringify(id)}: a lab id is 6 hex digits, as wgmesh lab prints it`);
    const state = readState(id);
    if (!state) throw new LabError(`doctor: no lab ${id} on this machine (wgmesh lab --keep makes one that stays)`);
    return state;
  }
  const labs = listLabIds()
    .map((l) => readState(l))
    .filter((s): s is LabState => s !== undefined && (s.kept || isRunning(s.ownerPid)));
  if (labs.length === 0) throw new LabError("doctor: no lab is running here; bring one up with wgmesh lab --stack NAME --keep");
  if (labs.length > 1) throw new LabError(`doctor: ${labs.length} labs are running here (${labs.map((l) => l.id).join(", ")}); say which with --id`);
  return labs[0] as LabState;
}
