/**
 * The package as its users run it: the compiled CLI's start (`wgmesh --version`) and a plan of the
 * prod stack, each as a process of its own, and the component plugin started as Pulumi's language
 * host starts it until it has served its schema. Medians of a few runs; the build is brought up to
 * date first (npm run build does nothing when it is).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { schemaFromPlugin } from "./plugin-client";

const ROOT = join(__dirname, "..");

export interface PackageFigures {
  /** Wall milliseconds per run. */
  versionMs: number[];
  planProdMs: number[];
  pluginSchemaMs: number[];
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

function timed(args: string[]): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} failed (exit ${r.status}): ${r.stderr.trim().split("\n").at(-1)}`);
  return ms;
}

export async function benchPackage(runs = 5): Promise<PackageFigures> {
  const build = spawnSync(process.execPath, ["--import", "tsx", join("scripts", "build.ts")], { cwd: ROOT, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr.trim()}`);
  const bin = join(ROOT, "dist", "cli", "bin.js");
  const versionMs: number[] = [];
  const planProdMs: number[] = [];
  for (let i = 0; i < runs; i++) versionMs.push(timed([bin, "--version"]));
  for (let i = 0; i < runs; i++) planProdMs.push(timed([bin, "plan", "--stack", "prod"]));
  const consumer = mkdtempSync(join(tmpdir(), "wgmesh-bench-consumer-"));
  const pluginSchemaMs: number[] = [];
  try {
    for (let i = 0; i < Math.min(runs, 3); i++) pluginSchemaMs.push((await schemaFromPlugin(ROOT, consumer)).ms);
  } finally {
    rmSync(consumer, { recursive: true, force: true });
  }
  return { versionMs, planProdMs, pluginSchemaMs };
}
