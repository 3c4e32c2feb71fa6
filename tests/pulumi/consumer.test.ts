/**
 * wg-mesh as a user gets it: the tarball `npm pack` makes, in a fresh folder outside this repository.
 * The packed CLI's `wgmesh init` (dist/cli/bin.js, the file the tarball holds) makes a new project
 * there, `npm install` installs the tarball into it, and then, with no file of this checkout involved:
 * (1) the program init wrote, which is the README's TypeScript example, runs under Pulumi's own
 *     launcher (@pulumi/pulumi/cmd/run: its ts-node settings, which skip node_modules) on Pulumi's
 *     mock runtime, and makes the same resources and outputs as the package's stack program does for
 *     that stack (`wgmesh synth`);
 * (2) `npx wgmesh plan` and `lab` work on the consumer's own stack file (lab only as root);
 * (3) the component plugin, started from the installed package as Pulumi's language host starts it,
 *     serves the schema `npm run build` made from these sources;
 * (4) that schema names its namespace, so a path, the registry and a git URL all give C# Pulumi.WgMesh,
 *     which the README's C# example uses (tests/pulumi/package.test.ts checks the rest of it);
 * and the policy pack ships as `pulumi preview --policy-pack node_modules/wg-mesh/dist/policy` loads it.
 * One install serves every step (about a minute or two); npm takes the dependencies from its cache.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { schemaFromPlugin } from "../../bench/plugin-client";
import { labBlocker } from "../../lab/preflight";
import { readmeBlock } from "../support/readme-examples";
import { REPO } from "../support/pulumi";
import { csharpNamespace, type SdkNames } from "../support/sdk-names";
import { policies as sourcePolicies } from "../../policy/policies";

const STACK = "dev";
let root: string;
let project: string;
let tarball: string;

function run(cmd: string, args: string[], cwd: string, timeout = 600_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, env: { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" } });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} failed (exit ${r.status ?? r.signal}):\n${r.stderr}${r.stdout.slice(-2000)}`);
  return r.stdout;
}

before(() => {
  root = mkdtempSync(join(tmpdir(), "wgmesh-consumer-"));
  const packed = JSON.parse(ok(run("npm", ["pack", "--pack-destination", root, "--json", "--loglevel=error"], REPO), "npm pack")) as { filename: string }[];
  tarball = join(root, packed[0]?.filename as string);
  project = join(root, "edge-mesh");
  // The compiled CLI the tarball holds; `npx wg-mesh init` would run the same file after a second install.
  ok(run(process.execPath, [join(REPO, "dist", "cli", "bin.js"), "init", project, "--yes", "--stack", STACK, "--package", `file:${tarball}`], root), "wgmesh init");
  ok(run("npm", ["install", "--prefer-offline", "--loglevel=error"], project), "npm install");
});

after(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

const wgmesh = (args: string[]) => run("npx", ["--no-install", "wgmesh", ...args], project);

/** A program run by Pulumi's own launcher on the mock runtime, recorded as `wgmesh synth --json` records the stack program. */
const HARNESS = `
const path = require("node:path");
const fs = require("node:fs");
const [dir, stack, out] = process.argv.slice(2);
const pkg = path.dirname(require.resolve("wg-mesh/package.json", { paths: [dir] }));
const { runUnderMocks } = require(path.join(pkg, "dist/stacks/synth/run.js"));
const { synthJson } = require(path.join(pkg, "dist/stacks/synth/tree.js"));
const { projectName, stackConfig, stackFile } = require(path.join(pkg, "dist/workspace/project.js"));
// cmd/run/index.js reads the language host's flags and starts run() as it loads; run.js requires it for one
// constant. That constant stands in for it here: run() itself (ts-node as Pulumi registers it, the program
// loaded as Pulumi loads it) is Pulumi's own.
const launcher = require.resolve("@pulumi/pulumi/cmd/run", { paths: [dir] });
require.cache[launcher] = { id: launcher, filename: launcher, loaded: true, exports: { nodeJSProcessExitedAfterLoggingUserActionableMessage: 32 } };
const { run } = require(require.resolve("@pulumi/pulumi/cmd/run/run", { paths: [dir] }));
// What Pulumi's Node.js language host sets for a project whose Pulumi.yaml says typescript: true.
process.env.PULUMI_NODEJS_TYPESCRIPT = "true";
(async () => {
  const project = projectName(dir);
  const { config, secretKeys } = stackConfig(stackFile(stack, dir));
  const result = await runUnderMocks({
    project, stack, config, secretKeys, unknownStacks: "empty", ownStack: true, timeoutMs: 600000,
    program: () => run({ _: ["."], pwd: dir }, () => {}, () => {}, () => false),
  });
  fs.writeFileSync(out, JSON.stringify(synthJson(project, stack, result.resources, result.outputs, result.warnings)));
})().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + "\\n");
  process.exit(1);
});
`;

test("the program init writes is the README's TypeScript example, and under Pulumi's own launcher it makes what the stack program makes", { timeout: 900_000 }, () => {
  const program = readFileSync(join(project, "index.ts"), "utf8");
  assert.equal(program, readmeBlock("typescript", 'from "wg-mesh"'));
  const harness = join(root, "harness.js");
  const out = join(root, "program.json");
  writeFileSync(harness, HARNESS);
  ok(run(process.execPath, [harness, project, STACK, out], project), "the program under Pulumi's launcher");
  const fromProgram = JSON.parse(readFileSync(out, "utf8")) as { resources: unknown[]; outputs: unknown; counts: unknown; total: number };
  const synth = JSON.parse(ok(wgmesh(["synth", "--stack", STACK, "--json"]), "wgmesh synth")) as typeof fromProgram;
  assert.ok(synth.total > 20, `the stack makes the mesh's resources (${synth.total})`);
  assert.deepEqual(fromProgram.counts, synth.counts);
  // The same resources with the same inputs; Pulumi's launcher registers them in its own order.
  const byUrn = (rs: unknown[]) => [...(rs as { urn: string }[])].sort((a, b) => (a.urn < b.urn ? -1 : 1));
  assert.deepEqual(byUrn(fromProgram.resources), byUrn(synth.resources));
  assert.deepEqual(fromProgram.outputs, synth.outputs);
  assert.equal((fromProgram.outputs as { summary: { reachable: string } }).summary.reachable, "6 of 6 ordered pairs reachable");
});

test("npx wgmesh plan and lab work on the consumer's own stack file", { timeout: 600_000 }, (t) => {
  const plan = ok(wgmesh(["plan", "--stack", STACK]), "wgmesh plan");
  assert.match(plan, /\n6 of 6 ordered pairs reachable\n$/);
  const blocker = labBlocker();
  if (blocker) {
    t.diagnostic(`*** LAB SKIPPED: ${blocker} ***`);
    t.skip(blocker);
    return;
  }
  const lab = ok(wgmesh(["lab", "--stack", STACK]), "wgmesh lab");
  assert.match(lab, /6 of 6 ordered pairs reachable/);
});

test("the plugin, started from the installed package as the language host starts it, serves the schema built from these sources, named for Pulumi.WgMesh", { timeout: 600_000 }, async () => {
  const served = await schemaFromPlugin(join(project, "node_modules", "wg-mesh"), project);
  assert.equal(served.stderr.trim(), "", "the plugin printed nothing on stderr");
  const schema = JSON.parse(served.schema) as SdkNames & { resources: Record<string, unknown> };
  // The one npm run build inferred from these sources (dist/ is rebuilt whenever they change).
  assert.deepEqual(schema, JSON.parse(readFileSync(join(REPO, "dist", "components", "schema.json"), "utf8")));
  assert.deepEqual(Object.keys(schema.resources).sort(), ["wg-mesh:index:Backend", "wg-mesh:index:Hub", "wg-mesh:index:Mesh", "wg-mesh:index:Pop"]);
  const usings = readmeBlock("csharp", "using Pulumi.WgMesh;");
  for (const source of [{ kind: "path" }, { kind: "registry" }, { kind: "git", url: "https://github.com/acme/wg-mesh@v0.1.0" }] as const) {
    const ns = csharpNamespace(schema, source);
    assert.equal(ns, "Pulumi.WgMesh", source.kind);
    assert.match(usings, new RegExp(`^using ${ns.replace(".", "\\.")};$`, "m"));
  }
});

test("the policy pack ships as Pulumi loads it: PulumiPolicy.yaml, package.json main, its modules from the consumer's node_modules, the same policies", () => {
  const dir = join(project, "node_modules", "wg-mesh", "dist", "policy");
  assert.match(readFileSync(join(dir, "PulumiPolicy.yaml"), "utf8"), /^runtime: nodejs$/m);
  const main = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { main: string }).main;
  assert.equal(main, "index.js");
  for (const m of ["@pulumi/pulumi/cmd/run-policy-pack", "@pulumi/policy"]) assert.ok(require.resolve(m, { paths: [dir] }).startsWith(join(project, "node_modules")), m);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const shipped = (require(join(dir, "policies.js")) as { policies: { name: string }[] }).policies;
  assert.deepEqual(shipped.map((p) => p.name), sourcePolicies.map((p) => p.name));
});
