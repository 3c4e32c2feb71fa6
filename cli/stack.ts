/** Reading a stack's config file: the CLI's only way into the engine. */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadStackConfig } from "../infra/config";
import { MeshConfigError, type ConfigIssue, type MeshPlan, type MeshSpec } from "../infra/model";
import { planMesh } from "../infra/plan";
import { quote } from "../infra/quote";
import { UserError } from "./errors";

export interface LoadedStack {
  name: string;
  file: string;
  spec: MeshSpec;
  plan: MeshPlan;
  /** Allowed but probably unwise, as `path: message`; commands print them with printWarnings. */
  warnings: ConfigIssue[];
}

export function stackFile(name: string, dir = process.cwd()): string {
  return join(dir, `Pulumi.${name}.yaml`);
}

export function knownStacks(dir = process.cwd()): string[] {
  return readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined);
}

/** Like the Pulumi CLI: the project is the nearest folder up from here holding Pulumi.yaml. */
export function projectDir(from = process.cwd()): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "Pulumi.yaml")) || existsSync(join(dir, "Pulumi.yml"))) return dir;
    if (dirname(dir) === dir) return from;
  }
}

/** Warnings go to stderr, each naming the file and the config path; they never change the exit code. */
export function printWarnings(stack: Pick<LoadedStack, "name" | "warnings">): void {
  for (const w of stack.warnings) process.stderr.write(`warning: Pulumi.${stack.name}.yaml: ${w.path}: ${w.message}\n`);
}

export function loadStack(name: string, dir = projectDir()): LoadedStack {
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(name)) throw new UserError(`--stack ${quote(name)}: a stack name is 1-100 letters, digits, '-', '_' and '.'`);
  const file = stackFile(name, dir);
  if (!existsSync(file)) {
    const known = knownStacks(dir);
    throw new UserError(`--stack ${name}: no Pulumi.${name}.yaml in ${dir}${known.length ? `; stacks here: ${known.join(", ")}` : ""}`);
  }
  const label = `Pulumi.${name}.yaml`;
  try {
    const warnings: ConfigIssue[] = [];
    const spec = loadStackConfig(readFileSync(file, "utf8"), label, warnings);
    return { name, file, spec, plan: planMesh(spec), warnings };
  } catch (err) {
    if (err instanceof MeshConfigError) throw new MeshConfigError(err.issues, label);
    throw err;
  }
}
