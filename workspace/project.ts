/** The project on disk, found as the Pulumi CLI finds it: its name, its stack files, and a stack planned from its file. */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { parse } from "yaml";
import { loadStackConfig, readStackYaml } from "../infra/config";
import { MeshConfigError, type ConfigIssue, type MeshPlan, type MeshSpec } from "../infra/model";
import { planMesh } from "../infra/plan";
import { userDataIssues } from "../infra/plan/sizes";
import { UserError } from "../infra/errors";
import { quote } from "../infra/quote";

export interface LoadedStack {
  name: string;
  file: string;
  spec: MeshSpec;
  plan: MeshPlan;
  /** Allowed but probably unwise, as `path: message`; the CLI prints them (cli/warnings.ts). */
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

/** Like the Pulumi CLI: the project is the nearest folder up from here holding Pulumi.yaml; undefined when none does. */
export function findProjectDir(from = process.cwd()): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "Pulumi.yaml")) || existsSync(join(dir, "Pulumi.yml"))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The project folder, or the folder itself when no Pulumi.yaml is above it (a stack file alone still plans). */
export function projectDir(from = process.cwd()): string {
  return findProjectDir(from) ?? from;
}

export const NO_PROJECT = "no Pulumi.yaml found in this folder or above; run wgmesh inside the project (the folder holding Pulumi.yaml and its Pulumi.<stack>.yaml files)";

export function loadStack(name: string, dir = projectDir()): LoadedStack {
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(name)) throw new UserError(`--stack ${quote(name)}: a stack name is 1-100 letters, digits, '-', '_' and '.'`);
  const file = stackFile(name, dir);
  if (!existsSync(file)) {
    // Outside any project the stack file is not the thing missing: the project is.
    if (findProjectDir(dir) === undefined) throw new UserError(`--stack ${name}: ${NO_PROJECT}`);
    const known = knownStacks(dir);
    throw new UserError(`--stack ${name}: no Pulumi.${name}.yaml in ${dir}${known.length ? `; stacks here: ${known.join(", ")}` : ""}`);
  }
  // Bytes, not text: a UTF-16 file (with its byte-order mark) reads as the Pulumi CLI reads it.
  return { name, file, ...planStackText(readFileSync(file), name, dir) };
}

/** A stack file's text checked and planned as loadStack does it, for text not (yet) on disk. */
export function planStackText(text: string | Uint8Array, stack: string, dir = projectDir()): Omit<LoadedStack, "name" | "file"> {
  const label = `Pulumi.${stack}.yaml`;
  try {
    const warnings: ConfigIssue[] = [];
    const spec = loadStackConfig(text, label, warnings);
    const plan = planMesh(spec);
    // User data names the node's vault, which names the project and stack: checked here, where both are known.
    const tooBig = userDataIssues(spec, projectNameOr(dir, "wg-mesh"), stack);
    if (tooBig.length > 0) throw new MeshConfigError(tooBig);
    return { spec, plan, warnings };
  } catch (err) {
    if (err instanceof MeshConfigError) throw new MeshConfigError(err.issues, label);
    throw err;
  }
}

interface RawStackFile {
  config?: Record<string, unknown>;
}

/** The project name from Pulumi.yaml, as the CLI would pass it. */
export function projectName(dir = projectDir()): string {
  const file = ["Pulumi.yaml", "Pulumi.yml"].map((f) => join(dir, f)).find(existsSync);
  if (!file) throw new UserError(NO_PROJECT);
  const name = (parse(readFileSync(file, "utf8"), { logLevel: "silent" }) as { name?: unknown } | null)?.name;
  if (typeof name !== "string" || name === "") throw new UserError(`${file}: has no project name`);
  return name;
}

/**
 * Every config key of the stack file as the Pulumi CLI hands it to a program: strings as they
 * are, anything else as JSON. Encrypted (`secure:`) values cannot be read here and become a
 * marked placeholder.
 */
export function stackConfig(file: string): { config: Record<string, string>; secretKeys: string[] } {
  // Read as `wgmesh plan` reads it (UTF-16, a byte-order mark), so the two never see different files.
  const raw = (readStackYaml(readFileSync(file), basename(file)) as RawStackFile | null)?.config ?? {};
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const secure = typeof value === "object" && value !== null && "secure" in value;
    if (secure) secretKeys.push(key);
    config[key] = secure ? "[secure value: not readable offline]" : typeof value === "string" ? value : JSON.stringify(value);
  }
  return { config, secretKeys };
}

/** The project name, or `fallback` when Pulumi.yaml cannot be read (plan works on a stack file alone). */
function projectNameOr(dir: string, fallback: string): string {
  try {
    return projectName(dir);
  } catch {
    return fallback;
  }
}
