/** `wgmesh render`: every node's wg0.conf and cloud-init.yaml, written only when all rendered. */
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { renderCloudInit } from "../infra/render/cloudinit";
import { offlineEndpoints, placeholderKeys, renderAll, throwAwayKeys } from "../infra/render/mesh";
import { vaultLocatorFor } from "../infra/vault";
import { action } from "./errors";
import { loadStack } from "./stack";

export interface RenderedFile {
  path: string;
  content: string;
  secret: boolean;
}

export function renderStackFiles(stack: string, ephemeralKeys: boolean, project = "wg-mesh"): RenderedFile[] {
  const { plan } = loadStack(stack);
  const keys = ephemeralKeys ? throwAwayKeys(plan) : placeholderKeys(plan);
  const configs = renderAll(plan, keys, offlineEndpoints(plan));
  const files: RenderedFile[] = [];
  for (const node of plan.spec.nodes) {
    files.push({ path: join(node.name, "wg0.conf"), content: configs[node.name] as string, secret: ephemeralKeys });
    const vault = vaultLocatorFor(node, project, stack);
    if (vault) files.push({ path: join(node.name, "cloud-init.yaml"), content: renderCloudInit({ node: node.name, vault }), secret: false });
  }
  return files;
}

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
        const files = renderStackFiles(opts.stack, Boolean(opts.ephemeralKeys));
        writeTree(opts.out, files);
        const nodes = new Set(files.map((f) => dirname(f.path))).size;
        process.stdout.write(`wrote ${files.length} files for ${nodes} nodes to ${opts.out}${opts.ephemeralKeys ? " (throw-away keys: lab and tests only)" : " (private keys are placeholders; the vault holds the real config)"}\n`);
      }),
    );
}
