/**
 * `wgmesh synth`: the real stack program under Pulumi's mock runtime, printed as the resource tree and
 * a count per type: a preview a reviewer can read without the Pulumi CLI or cloud credentials.
 */
import type { Command } from "commander";
import type { SynthJson } from "../stacks/synth/tree";
import { action } from "./errors";

/** The synthesis as text: the tree, the counts per type (formatCounts), the outputs and warnings. */
export function formatSynth(s: SynthJson, tree: string[], counts: string[]): string {
  const summary = (s.outputs.summary ?? {}) as { reachable?: string };
  const out = [
    `Stack ${s.stack} (project ${s.project}) under Pulumi's mock runtime: ${s.total} resources; IDs and IPs are stand-ins, no cloud was called`,
    "",
    ...tree,
    "",
    "Resources by type",
    ...counts,
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
        // Pulumi's runtime and the cloud SDKs load only when synth runs: every other command starts without them.
        /* eslint-disable @typescript-eslint/no-require-imports */
        const { synthesize } = require("../stacks/synth/synthesize") as typeof import("../stacks/synth/synthesize");
        const { formatCounts } = require("../stacks/synth/tree") as typeof import("../stacks/synth/tree");
        /* eslint-enable @typescript-eslint/no-require-imports */
        const { json, tree } = await synthesize(opts.stack);
        process.stdout.write(opts.json ? `${JSON.stringify(json, null, 2)}\n` : `${formatSynth(json, tree, formatCounts(json.counts))}\n`);
      }),
    );
}
