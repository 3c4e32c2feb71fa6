/** `wgmesh render`: every node's wg0.conf and cloud-init.yaml, written only when all rendered. */
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { renderMeshFiles, type RenderedFile } from "../infra/render/files";
import { action } from "./errors";
import { loadStack, projectName } from "../workspace/project";

/** Writes into a sibling temp folder and swaps it in, so a failure leaves no half-written tree. */
export function writeTree(outDir: string, files: readonly RenderedFile[]): void {
  const target = resolve(outDir);
  const staging = `${target}.wgmesh-tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  try {
    for (const f of files) {
      const path = join(staging, f.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, f.content, { mode: f.secret ? 0o600 : 0o644 });
      if (f.secret) chmodSync(path, 0o600);
    }
    mkdirSync(dirname(target), { recursive: true });
    if (existsSync(target)) rmSync(target, { recursive: true });
    renameSync(staging, target);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export function registerRenderCommand(program: Command): void {
  program
    .command("render")
    .description("write DIR/<node>/wg0.conf and DIR/<node>/cloud-init.yaml for every node of a stack")
    .requiredOption("--stack <name>", "stack whose Pulumi.<name>.yaml to render")
    .requiredOption("--out <dir>", "output folder (replaced as a whole)")
    .option("--ephemeral-keys", "generate real throw-away keys so the files can be brought up as they are")
    .action(
      action((opts: { stack: string; out: string; ephemeralKeys?: boolean }) => {
        const { plan } = loadStack(opts.stack);
        const files = renderMeshFiles(plan, { project: projectName(), stack: opts.stack, ephemeralKeys: Boolean(opts.ephemeralKeys) });
        writeTree(opts.out, files);
        const nodes = new Set(files.map((f) => dirname(f.path))).size;
        process.stdout.write(`wrote ${files.length} files for ${nodes} nodes to ${opts.out}${opts.ephemeralKeys ? " (throw-away keys: lab and tests only)" : " (private keys are placeholders; the vault holds the real config)"}\n`);
      }),
    );
}
