/** `wgmesh render`: every node's wg0.conf and cloud-init.yaml, written only when all rendered. */
import { dirname } from "node:path";
import type { Command } from "commander";
import { renderMeshFiles, type RenderedFile } from "../infra/render/files";
import { quote } from "../infra/quote";
import { action } from "./errors";
import { printWarnings } from "./warnings";
import { writeOutputFolder, type WrittenFolder } from "../workspace/output";
import { loadStack, projectDir, projectName } from "../workspace/project";

/** The files as an output folder: written beside it and moved into place, replacing only a folder wg-mesh wrote. */
export function writeTree(outDir: string, files: readonly RenderedFile[], projectRoot = projectDir()): WrittenFolder {
  const entries = files.map((f) => ({ path: f.path, content: f.content, mode: f.secret ? 0o600 : 0o644 }));
  return writeOutputFolder(outDir, entries, { tool: "render", label: "--out", projectRoot });
}

export function registerRenderCommand(program: Command): void {
  program
    .command("render")
    .description("write DIR/<node>/wg0.conf and DIR/<node>/cloud-init.yaml for every node of a stack")
    .requiredOption("--stack <name>", "stack whose Pulumi.<name>.yaml to render")
    .requiredOption("--out <dir>", "output folder: new, or one wg-mesh wrote before (replaced as a whole)")
    .option("--ephemeral-keys", "generate real throw-away keys so the files can be brought up as they are")
    .action(
      action((opts: { stack: string; out: string; ephemeralKeys?: boolean }) => {
        const loaded = loadStack(opts.stack);
        printWarnings(loaded);
        const files = renderMeshFiles(loaded.plan, { project: projectName(), stack: opts.stack, ephemeralKeys: Boolean(opts.ephemeralKeys) });
        const written = writeTree(opts.out, files);
        const nodes = new Set(files.map((f) => dirname(f.path))).size;
        process.stdout.write(`wrote ${files.length} files for ${nodes} nodes to ${quote(opts.out)}${written.replaced ? " (replacing what wg-mesh wrote there before)" : ""}${opts.ephemeralKeys ? " (throw-away keys: lab and tests only)" : " (private keys are placeholders; the vault holds the real config)"}\n`);
      }),
    );
}
