/**
 * `wgmesh doctor --lab NODE` / `--all`: a kept lab's nodes checked by the node doctor itself (the
 * /usr/local/sbin/wgmesh a deployed node runs as `sudo wgmesh doctor`), in each node's namespace.
 */
import type { Command } from "commander";
import { UserError } from "../infra/errors";
import { doctorLab, doctorLabNode, findLab, type NodeDoctor } from "../lab/doctor";
import { assertLabCanRun } from "../lab/preflight";
import { action } from "./errors";

export interface DoctorCommandOptions {
  lab?: string;
  all?: boolean;
  id?: string;
}

export async function runDoctorCommand(opts: DoctorCommandOptions): Promise<number> {
  if (opts.lab === undefined && !opts.all) {
    throw new UserError("doctor: say which lab node: --lab NODE, or --all for every node (on a deployed node, run sudo wgmesh doctor there)");
  }
  if (opts.lab !== undefined && opts.all) throw new UserError("doctor: give --lab NODE or --all, not both");
  assertLabCanRun();
  const state = findLab(opts.id);
  const results: NodeDoctor[] = opts.all ? await doctorLab(state) : [await doctorLabNode(state, opts.lab as string)];
  for (const r of results) process.stdout.write(r.lines.map((l) => `${r.node}: ${l}\n`).join(""));
  return Math.max(0, ...results.map((r) => r.code));
}

export function registerDoctorCommand(program: Command): void {
  program
    .command("doctor")
    .description("check lab nodes as `sudo wgmesh doctor` checks a deployed node: one line per problem with its fix, exit 0 when healthy (root)")
    .option("--lab <node>", "the node of a running or kept lab to check")
    .option("--all", "check every node of the lab")
    .option("--id <id>", "which lab, when more than one runs here")
    .action(action((opts: DoctorCommandOptions) => runDoctorCommand(opts)));
}
