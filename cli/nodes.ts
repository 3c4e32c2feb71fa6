/**
 * `wgmesh add-node NAME --cloud C --region R` and `wgmesh remove-node NAME`: a node added to a stack
 * file (its site from the catalogue, the next free address in the right region of the address plan,
 * a new region when none fits: infra/place-node.ts) or removed from it, the file's comments and
 * layout kept (workspace/stack-edit.ts); then what the change does, as `wgmesh diff` says it. The new
 * file is checked and planned like any other before it is written, and written whole or not at all.
 */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { diffMeshes } from "../infra/diff";
import { formatDiffText } from "../infra/diff/format";
import { UserError } from "../infra/errors";
import { ROLES, type Role } from "../infra/model";
import { placeNewNode, type NodeRequest } from "../infra/place-node";
import { addNodeText, removeNodeText } from "../workspace/stack-edit";
import { knownStacks, planStackText, projectDir, stackFile } from "../workspace/project";
import { action } from "./errors";
import { printWarnings } from "./warnings";

const CLOUDS = ["aws", "gcp", "azure"] as const;

/** The stack named, or the project's only one. */
function whichStack(given: string | undefined, dir: string): string {
  if (given !== undefined) return given;
  const stacks = knownStacks(dir);
  if (stacks.length === 1) return stacks[0] as string;
  throw new UserError(stacks.length === 0 ? `no Pulumi.<stack>.yaml in ${dir}; run wgmesh init for a new project` : `say which stack: --stack ${stacks.join(" or --stack ")}`);
}

/** The stack file's text, valid as it is: a change starts from a file that plans. */
function currentStack(stack: string, dir: string): { file: string; text: string; planned: ReturnType<typeof planStackText> } {
  const file = stackFile(stack, dir);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    const known = knownStacks(dir);
    throw new UserError(`--stack ${stack}: no Pulumi.${stack}.yaml in ${dir}${known.length ? `; stacks here: ${known.join(", ")}` : ""}`);
  }
  return { file, text, planned: planStackText(text, stack, dir) };
}

/** Replaces the file with the new text: written beside it, then moved over it, keeping its mode. */
function replaceFile(file: string, text: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.wgmesh-${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text, { mode: statSync(file).mode & 0o777, flag: "wx" });
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

interface AddOptions {
  cloud: NodeRequest["cloud"];
  region: string;
  role: Role;
  site?: string;
  address?: string;
  stack?: string;
}

function oneOf<T extends string>(values: readonly T[]) {
  return (value: string): T => {
    if (!(values as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${values.join(", ")}`);
    return value as T;
  };
}

export function runAddNode(name: string, opts: AddOptions, dir = projectDir()): string {
  const stack = whichStack(opts.stack, dir);
  const before = currentStack(stack, dir);
  const label = `Pulumi.${stack}.yaml`;
  const placed = placeNewNode(before.planned.spec, { name, cloud: opts.cloud, region: opts.region, role: opts.role, ...(opts.site !== undefined ? { site: opts.site } : {}), ...(opts.address !== undefined ? { address: opts.address } : {}) });
  const text = addNodeText(before.text, label, placed);
  const after = planStackText(text, stack, dir);
  replaceFile(before.file, text);
  printWarnings({ name: stack, warnings: after.warnings });
  const where = placed.newRegion ? `new region ${placed.newRegion.name} (${placed.newRegion.subnet}, area ${placed.newRegion.area})` : `region ${placed.region}`;
  const diff = diffMeshes(before.planned.plan, after.plan);
  return `added ${name} to ${label}: ${placed.role} on ${placed.cloud} ${opts.region}, site ${placed.site}, ${where}, address ${placed.address}\n\n${formatDiffText(diff, { stack, base: "before", head: `after add-node ${name}` })}`;
}

export function runRemoveNode(name: string, opts: { stack?: string }, dir = projectDir()): string {
  const stack = whichStack(opts.stack, dir);
  const before = currentStack(stack, dir);
  const label = `Pulumi.${stack}.yaml`;
  if (before.planned.spec.hub === name) throw new UserError(`nodes.${name}: it is the hub; make another node the hub first (hub: and its role), then remove it`);
  const text = removeNodeText(before.text, label, name);
  const after = planStackText(text, stack, dir);
  replaceFile(before.file, text);
  printWarnings({ name: stack, warnings: after.warnings });
  const diff = diffMeshes(before.planned.plan, after.plan);
  return `removed ${name} from ${label}\n\n${formatDiffText(diff, { stack, base: "before", head: `after remove-node ${name}` })}`;
}

export function registerNodeCommands(program: Command): void {
  program
    .command("add-node")
    .description("add a node to a stack file: its site from the catalogue, the next free address of the right region, comments and layout kept; then what the change does")
    .argument("<name>", "the new node's name (a-z, 0-9 and -, starting with a letter)")
    .requiredOption("--cloud <cloud>", `where it runs: ${CLOUDS.join(", ")}`, oneOf(CLOUDS))
    .requiredOption("--region <region>", "the cloud's region (aws), zone (gcp) or location (azure), e.g. eu-central-1, europe-west3-a, germanywestcentral")
    .option("--role <role>", "pop or backend", oneOf(ROLES.filter((r) => r !== "hub")), "backend")
    .option("--site <code>", "its metro, when the catalogue does not place the region (or another)")
    .option("--address <ip>", "its overlay address (default: the next free one of the right region)")
    .option("--stack <name>", "the stack whose Pulumi.<name>.yaml to change (default: the project's only one)")
    .action(action((name: string, opts: AddOptions) => void process.stdout.write(`${runAddNode(name, opts)}\n`)));
  program
    .command("remove-node")
    .description("remove a node from a stack file, comments and layout kept; then what the change does")
    .argument("<name>", "the node to remove")
    .option("--stack <name>", "the stack whose Pulumi.<name>.yaml to change (default: the project's only one)")
    .action(action((name: string, opts: { stack?: string }) => void process.stdout.write(`${runRemoveNode(name, opts)}\n`)));
}
