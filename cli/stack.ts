/** Reading a stack's config file: the CLI's only way into the engine. */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { loadStackConfig } from "../infra/config";
import { MeshConfigError, type MeshPlan, type MeshSpec } from "../infra/model";
import { planMesh } from "../infra/plan";
import { userDataIssues } from "../infra/plan/sizes";
import { UserError } from "./errors";

export interface LoadedStack {
  name: string;
  file: string;
  spec: MeshSpec;
  plan: MeshPlan;
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

export function loadStack(name: string, dir = projectDir()): LoadedStack {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new UserError(`--stack ${name}: a stack name has letters, digits, '-', '_' and '.' only`);
  const file = stackFile(name, dir);
  if (!existsSync(file)) {
    const known = knownStacks(dir);
    throw new UserError(`--stack ${name}: no Pulumi.${name}.yaml in ${dir}${known.length ? `; stacks here: ${known.join(", ")}` : ""}`);
  }
  const label = `Pulumi.${name}.yaml`;
  try {
    const spec = loadStackConfig(readFileSync(file, "utf8"), label);
    const plan = planMesh(spec);
    // User data names the node's vault, which names the project and stack: checked here, where both are known.
    const tooBig = userDataIssues(spec, projectNameIn(dir), name);
    if (tooBig.length > 0) throw new MeshConfigError(tooBig);
    return { name, file, spec, plan };
  } catch (err) {
    if (err instanceof MeshConfigError) throw new MeshConfigError(err.issues, label);
    throw err;
  }
}

/** The project name Pulumi.yaml gives (as the Pulumi CLI passes it), or wg-mesh when it cannot be read. */
function projectNameIn(dir: string): string {
  try {
    const name = (parse(readFileSync(join(dir, "Pulumi.yaml"), "utf8")) as { name?: unknown } | null)?.name;
    return typeof name === "string" && name !== "" ? name : "wg-mesh";
  } catch {
    return "wg-mesh";
  }
}
