/**
 * `wgmesh diff`: what a change of Pulumi.<stack>.yaml does to the mesh, offline. Reads the
 * working tree's file and the one at a git ref (or a file), and prints what infra/diff finds.
 * Exit codes: 0 no change, 1 a change, 2 bad input, 3 the change breaks reachability.
 */
import type { Command } from "commander";
import { diffMeshes } from "../infra/diff";
import { AGENT_VERSION } from "../infra/render/agent";
import { diffToJson, formatDiffMarkdown, formatDiffText, type DiffLabels } from "../infra/diff/format";
import { MeshConfigError } from "../infra/model";
import { GitReadError } from "../workspace/git";
import { loadBaseStack } from "../workspace/base-stack";
import { UserError } from "../infra/errors";
import { reportFailure } from "./errors";
import { loadStack, projectDir } from "../workspace/project";

interface DiffOptions {
  stack: string;
  base?: string;
  baseFile?: string;
  markdown?: boolean;
  json?: boolean;
}

function run(opts: DiffOptions): number {
  if (opts.base !== undefined && opts.baseFile !== undefined) throw new UserError("give --base REF or --base-file FILE, not both");
  if (opts.markdown && opts.json) throw new UserError("give --markdown or --json, not both");
  const dir = projectDir();
  const head = loadStack(opts.stack, dir);
  const base = loadBaseStack(opts.stack, dir, opts.baseFile !== undefined ? { file: opts.baseFile } : { ref: opts.base });
  // The agent each side deploys; a base file has no code to say, so it is taken as this one's.
  const agent = base.agentVersion === null ? undefined : { ...(base.agentVersion !== undefined ? { before: base.agentVersion } : {}), after: AGENT_VERSION };
  const diff = diffMeshes(base.plan, head.plan, agent ? { agent } : {});
  const labels: DiffLabels = { stack: opts.stack, base: base.label, head: "working tree" };
  const text = opts.json ? JSON.stringify(diffToJson(diff, labels), null, 2) : opts.markdown ? formatDiffMarkdown(diff, labels) : formatDiffText(diff, labels);
  process.stdout.write(`${text}\n`);
  return diff.exitCode;
}

export function registerDiffCommand(program: Command): void {
  program
    .command("diff")
    .description("what a change of Pulumi.<stack>.yaml does to the mesh: nodes, peers, how each node takes it, reachability before and after (exit 0 no change, 1 a change, 2 bad input, 3 breaks reachability)")
    .requiredOption("--stack <name>", "stack whose Pulumi.<name>.yaml to compare")
    .option("--base <ref>", "git ref to compare with (default: the merge base with the default branch)")
    .option("--base-file <file>", "compare with this file instead of a git ref")
    .option("--markdown", "print Markdown for a pull-request comment")
    .option("--json", "print one JSON document")
    .action((opts: DiffOptions) => {
      try {
        process.exitCode = run(opts);
      } catch (err) {
        // Bad input of any kind (config, ref, file) is exit 2 here, as the exit codes promise.
        const code = reportFailure(err);
        process.exitCode = err instanceof MeshConfigError || err instanceof UserError || err instanceof GitReadError ? 2 : code;
      }
    });
}
