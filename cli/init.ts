/**
 * `wgmesh init [folder]`: a new project in an empty folder (workspace/new-project.ts), whose stack
 * plans, labs and synthesizes as it is. On a terminal it asks for what no flag gave (clouds, sites,
 * hub, the GCP project), each with its default; otherwise (or with --yes) flags and defaults.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import { loadStackConfig } from "../infra/config";
import { UserError } from "../infra/errors";
import { MeshConfigError } from "../infra/model";
import { planMesh } from "../infra/plan";
import { quote } from "../infra/quote";
import { INIT_CLOUDS, INIT_DEFAULTS, INIT_SITES, newProjectFiles, type InitCloud, type NewProject } from "../workspace/new-project";
import { action } from "./errors";
import { packageInfo } from "./package-info";

export interface InitOptions {
  stack?: string;
  clouds?: string;
  sites?: string;
  hub?: string;
  gcpProject?: string;
  /** The wg-mesh dependency of the new package.json (default: ^ this version). */
  package?: string;
  yes?: boolean;
}

/** Asks one question and returns the answer as typed ("" for the default). */
export type Ask = (question: string) => Promise<string>;

const list = (text: string): string[] =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);

/** A Pulumi project name from a folder name: letters, digits, '-', '_' and '.'. */
function projectNameFor(dir: string): string {
  const name = basename(dir).replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^[-.]+/, "");
  return name || "wg-mesh-project";
}

/** Each answer's check: undefined when it is good, else what is wrong and what would be right. */
const CHECKS = {
  stack: (v: string) => (/^[A-Za-z0-9_.-]{1,100}$/.test(v) ? undefined : `${quote(v)} is not a stack name: 1-100 letters, digits, '-', '_' and '.'`),
  clouds: (v: string) => {
    const clouds = list(v);
    const bad = clouds.filter((c) => !(INIT_CLOUDS as readonly string[]).includes(c));
    if (clouds.length === 0) return `name at least one cloud: ${INIT_CLOUDS.join(", ")}`;
    return bad.length ? `${bad.map((b) => quote(b)).join(", ")}: the clouds are ${INIT_CLOUDS.join(", ")}` : undefined;
  },
  sites: (v: string) => {
    const sites = list(v);
    const bad = sites.filter((s) => !Object.hasOwn(INIT_SITES, s));
    if (bad.length) return `${bad.map((b) => quote(b)).join(", ")}: init knows the sites ${Object.keys(INIT_SITES).join(", ")} (add others later with wgmesh add-node)`;
    if (new Set(sites).size !== sites.length) return "a site is named twice; a node per site";
    return sites.length < 2 ? "name at least two sites: a mesh links two nodes or more" : undefined;
  },
  gcpProject: (v: string) => (/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(v) ? undefined : `${quote(v)} is not a GCP project ID: 6-30 lowercase letters, digits and hyphens, starting with a letter`),
};

/** The folder, made when missing; refused unless empty. */
function emptyFolder(folder: string): string {
  const dir = resolve(folder);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UserError(`init: ${quote(folder)} is a file; give a new or empty folder`);
    const entries = readdirSync(dir);
    if (entries.length > 0) {
      const shown = entries.slice(0, 3).map((e) => quote(e)).join(", ");
      throw new UserError(`init: ${quote(folder)} is not empty (it holds ${shown}${entries.length > 3 ? ` and ${entries.length - 3} more` : ""}); run wgmesh init in a new or empty folder`);
    }
  }
  return dir;
}

interface Question {
  /** The flag that gives it. */
  flag: string;
  /** What a terminal is asked. */
  prompt: string;
  given: string | undefined;
  fallback: string;
  check: (value: string) => string | undefined;
}

/** The flag's value, else the answer on a terminal (asked again until good), else the default. */
async function answer(q: Question, ask: Ask | undefined): Promise<string> {
  if (q.given !== undefined || !ask) {
    const value = q.given ?? q.fallback;
    const problem = q.check(value);
    if (problem) throw new UserError(`init: --${q.flag}: ${problem}`);
    return value;
  }
  for (;;) {
    const typed = (await ask(`${q.prompt} [${q.fallback}]: `)).trim();
    const value = typed === "" ? q.fallback : typed;
    const problem = q.check(value);
    if (!problem) return value;
    process.stdout.write(`  ${problem}\n`);
  }
}

/** The new project's choices, from flags, answers and defaults. */
export async function initChoices(dir: string, opts: InitOptions, ask?: Ask): Promise<NewProject> {
  const pkg = packageInfo();
  const stack = await answer({ flag: "stack", prompt: "Stack", given: opts.stack, fallback: INIT_DEFAULTS.stack, check: CHECKS.stack }, ask);
  const clouds = list(await answer({ flag: "clouds", prompt: `Clouds, nodes go to them in turn (of ${INIT_CLOUDS.join(", ")})`, given: opts.clouds, fallback: INIT_DEFAULTS.clouds.join(","), check: CHECKS.clouds }, ask)) as InitCloud[];
  const sites = list(await answer({ flag: "sites", prompt: `Sites, a node each (of ${Object.keys(INIT_SITES).join(", ")})`, given: opts.sites, fallback: INIT_DEFAULTS.sites.join(","), check: CHECKS.sites }, ask));
  const isSite = (v: string) => (sites.includes(v) ? undefined : `${quote(v)} is not one of the sites (${sites.join(", ")})`);
  const hub = await answer({ flag: "hub", prompt: "Hub, the node everyone reaches", given: opts.hub, fallback: sites[0] as string, check: isSite }, ask);
  const gcpProject = clouds.includes("gcp")
    ? await answer({ flag: "gcp-project", prompt: "GCP project ID", given: opts.gcpProject, fallback: INIT_DEFAULTS.gcpProject, check: CHECKS.gcpProject }, ask)
    : INIT_DEFAULTS.gcpProject;
  const version = (name: string): string => {
    const v = pkg.dependencies[name] ?? pkg.devDependencies[name];
    if (!v) throw new Error(`wg-mesh's package.json names no ${name}`);
    return v;
  };
  return {
    project: projectNameFor(dir),
    stack,
    clouds,
    sites,
    hub,
    gcpProject,
    wgMesh: opts.package ?? `^${pkg.version}`,
    versions: { pulumi: version("@pulumi/pulumi"), typescript: version("typescript"), typesNode: version("@types/node") },
  };
}

/** Writes the files, each beside itself first; when one fails, the ones written go again. */
function writeAll(dir: string, files: { name: string; text: string }[]): void {
  mkdirSync(dir, { recursive: true });
  const done: string[] = [];
  try {
    for (const f of files) {
      const tmp = join(dir, `.${f.name}.wgmesh-init-${process.pid}`);
      writeFileSync(tmp, f.text, { flag: "wx" });
      renameSync(tmp, join(dir, f.name));
      done.push(join(dir, f.name));
    }
  } catch (err) {
    for (const f of done) rmSync(f, { force: true });
    for (const f of files) rmSync(join(dir, `.${f.name}.wgmesh-init-${process.pid}`), { force: true });
    throw err;
  }
}

export async function runInit(folder: string, opts: InitOptions, ask?: Ask): Promise<string[]> {
  const dir = emptyFolder(folder);
  const choices = await initChoices(dir, opts, ask);
  const files = newProjectFiles(choices);
  // The stack must plan before anything is written: the same checker and planner as wgmesh plan.
  const stackFile = files.find((f) => f.name === `Pulumi.${choices.stack}.yaml`) as { name: string; text: string };
  try {
    planMesh(loadStackConfig(stackFile.text, stackFile.name));
  } catch (err) {
    if (err instanceof MeshConfigError) throw new MeshConfigError(err.issues, `the new ${stackFile.name}`);
    throw err;
  }
  emptyFolder(folder);
  writeAll(dir, files);
  const s = choices.stack;
  return [
    `wrote ${files.map((f) => f.name).join(", ")} in ${quote(folder)}`,
    "next:",
    ...(folder === "." ? [] : [`  cd ${folder}`]),
    "  npm install",
    `  npx wgmesh plan --stack ${s}         every pair proven reachable, offline`,
    `  sudo npx wgmesh lab --stack ${s}     the mesh on real WireGuard, here`,
    `  pulumi stack init ${s} && pulumi preview --stack ${s}`,
  ];
}

export function registerInitCommand(program: Command): void {
  program
    .command("init")
    .description("start a new project in an empty folder: Pulumi.yaml, package.json, the program and a stack with a small mesh")
    .argument("[folder]", "the new project's folder, made if missing; it must be empty", ".")
    .option("--stack <name>", `the stack (default ${INIT_DEFAULTS.stack})`)
    .option("--clouds <list>", `clouds the nodes go to, in turn (default ${INIT_DEFAULTS.clouds.join(",")})`)
    .option("--sites <list>", `a node per site, of ${Object.keys(INIT_SITES).join(", ")} (default ${INIT_DEFAULTS.sites.join(",")})`)
    .option("--hub <site>", "the site whose node is the hub (default: the first site)")
    .option("--gcp-project <id>", `the GCP project for nodes on gcp (default ${INIT_DEFAULTS.gcpProject})`)
    .option("--package <spec>", "the wg-mesh dependency in package.json (default: ^ this version)")
    .option("-y, --yes", "ask nothing, even on a terminal: flags and defaults")
    .action(
      action(async (folder: string, opts: InitOptions) => {
        const terminal = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !opts.yes;
        const rl = terminal ? createInterface({ input: process.stdin, output: process.stdout }) : undefined;
        try {
          const lines = await runInit(folder, opts, rl ? (q) => rl.question(q) : undefined);
          process.stdout.write(`${lines.join("\n")}\n`);
        } finally {
          rl?.close();
        }
      }),
    );
}
