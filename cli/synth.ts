/**
 * `wgmesh synth`: the real stack program (stacks/index.ts) run under Pulumi's mock runtime
 * with a stack's config, printed as the resource tree and a count per type. A preview a
 * reviewer can read without the Pulumi CLI or cloud credentials; mock IDs and IPs stand in
 * for what the clouds would assign, and other stacks (peerStacks) are taken as not deployed.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { Command } from "commander";
import { parse } from "yaml";
import { action, UserError } from "./errors";
import { loadStack, printWarnings, projectDir } from "./stack";
import { freshRequire, runUnderMocks } from "./synth/run";
import { formatCounts, formatTree, synthJson, type SynthJson } from "./synth/tree";

const PROGRAM = join(__dirname, "..", "stacks", "index.ts");

interface RawStackFile {
  config?: Record<string, unknown>;
}

/** The project name from Pulumi.yaml, as the CLI would pass it. */
export function projectName(dir = projectDir()): string {
  const file = ["Pulumi.yaml", "Pulumi.yml"].map((f) => join(dir, f)).find(existsSync);
  if (!file) throw new UserError(`no Pulumi.yaml in ${dir} or above; run wgmesh synth inside the project`);
  const name = (parse(readFileSync(file, "utf8")) as { name?: unknown } | null)?.name;
  if (typeof name !== "string" || name === "") throw new UserError(`${file}: has no project name`);
  return name;
}

/**
 * Every config key of the stack file as the Pulumi CLI hands it to a program: strings as they
 * are, anything else as JSON. Encrypted (`secure:`) values cannot be read here and become a
 * marked placeholder.
 */
export function stackConfig(file: string): { config: Record<string, string>; secretKeys: string[] } {
  const raw = (parse(readFileSync(file, "utf8")) as RawStackFile | null)?.config ?? {};
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const secure = typeof value === "object" && value !== null && "secure" in value;
    if (secure) secretKeys.push(key);
    config[key] = secure ? "[secure value: not readable offline]" : typeof value === "string" ? value : JSON.stringify(value);
  }
  return { config, secretKeys };
}

export interface Synthesis {
  json: SynthJson;
  tree: string[];
}

export async function synthesize(stack: string, dir = projectDir()): Promise<Synthesis> {
  // Validates the file and the mesh first, so config errors read as they do for wgmesh plan.
  const loaded = loadStack(stack, dir);
  printWarnings(loaded);
  const project = projectName(dir);
  const { config, secretKeys } = stackConfig(loaded.file);
  let run;
  try {
    run = await runUnderMocks({ project, stack, config, secretKeys, unknownStacks: "empty", program: () => freshRequire(PROGRAM) });
  } catch (err) {
    // A RunError is the program refusing the stack, already worded for people.
    throw pulumi.RunError.isInstance(err) ? new UserError(err.message) : err;
  }
  return { json: synthJson(project, stack, run.resources, run.outputs, run.warnings), tree: formatTree(run.resources) };
}

export function formatSynth(s: SynthJson, tree: string[]): string {
  const summary = (s.outputs.summary ?? {}) as { reachable?: string };
  const out = [
    `Stack ${s.stack} (project ${s.project}) under Pulumi's mock runtime: ${s.total} resources; IDs and IPs are stand-ins, no cloud was called`,
    "",
    ...tree,
    "",
    "Resources by type",
    ...formatCounts(s.counts),
    "",
    `Outputs: ${Object.keys(s.outputs).join(", ")}${summary.reachable ? ` (${summary.reachable})` : ""}`,
  ];
  if (s.warnings.length > 0) out.push("", "Warnings", ...s.warnings.map((w) => `  ${w}`));
  return out.join("\n");
}

export function registerSynthCommand(program: Command): void {
  program
    .command("synth")
    .description("run the stack program under Pulumi's mock runtime and print the resource tree and a count per type")
    .requiredOption("--stack <name>", "stack whose Pulumi.<name>.yaml to synthesize")
    .option("--json", "print one JSON document instead of text")
    .action(
      action(async (opts: { stack: string; json?: boolean }) => {
        const { json, tree } = await synthesize(opts.stack);
        process.stdout.write(opts.json ? `${JSON.stringify(json, null, 2)}\n` : `${formatSynth(json, tree)}\n`);
      }),
    );
}
