/**
 * `wgmesh init`: the new project's files, its stack planned by the same checker and planner as
 * `wgmesh plan`, the questions a terminal is asked, and refusals that write nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { parse } from "yaml";
import { runInit, type Ask } from "../../cli/init";
import { loadStackConfig } from "../../infra/config";
import { UserError } from "../../infra/errors";
import { planMesh } from "../../infra/plan";
import { simulatePlanSummary } from "../../infra/simulate/plan";
import { catalogueSite, INIT_CLOUDS, INIT_SITES, newProjectFiles, programText, type InitCloud } from "../../workspace/new-project";
import { readmeBlock } from "../support/readme-examples";

const REPO = join(__dirname, "..", "..");
const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string; dependencies: Record<string, string>; devDependencies: Record<string, string> };

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-init-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Answers given in order, recording the questions. */
function scripted(answers: string[]): { ask: Ask; asked: string[] } {
  const asked: string[] = [];
  return { asked, ask: (q) => (asked.push(q), Promise.resolve(answers.shift() ?? "")) };
}

test("every site init offers is placed, on each cloud, in its own metro by the shipped catalogue", () => {
  for (const [name, site] of Object.entries(INIT_SITES)) {
    for (const cloud of INIT_CLOUDS) assert.equal(catalogueSite(cloud, site), name, `${name} on ${cloud}`);
  }
});

test("the program init writes is the README's TypeScript example, and the README's stack is the start of init's", async (t) => {
  assert.equal(programText(), readmeBlock("typescript", 'from "wg-mesh"'));
  const dir = tempDir(t);
  await runInit(dir, { yes: true });
  const stack = readFileSync(join(dir, "Pulumi.dev.yaml"), "utf8");
  const shown = readmeBlock("yaml", "wg-mesh:mesh:").replace(/\n {8}\.\.\.\n$/, "\n");
  assert.ok(stack.includes(`\n${shown}`) && shown.split("\n").length > 20, shown);
});

test("with flags: Pulumi.yaml, package.json on wg-mesh and the SDK versions it was built with, the program, and a stack that plans", async (t) => {
  const dir = join(tempDir(t), "edge-mesh");
  const lines = await runInit(dir, { stack: "prod", clouds: "gcp,azure", sites: "lhr,nrt,gru,syd", hub: "nrt", gcpProject: "edge-mesh-1" });
  assert.match(lines[0] as string, /^wrote Pulumi\.yaml, package\.json, index\.ts, Pulumi\.prod\.yaml in /);
  assert.deepEqual(readdirSync(dir).sort(), ["Pulumi.prod.yaml", "Pulumi.yaml", "index.ts", "package.json"]);
  assert.equal((parse(readFileSync(join(dir, "Pulumi.yaml"), "utf8")) as { name: string }).name, "edge-mesh");
  const project = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  assert.deepEqual(project.dependencies, { "@pulumi/pulumi": pkg.dependencies["@pulumi/pulumi"], "wg-mesh": `^${pkg.version}` });
  assert.deepEqual(project.devDependencies, { "@types/node": pkg.devDependencies["@types/node"], typescript: pkg.devDependencies.typescript });
  assert.equal(readFileSync(join(dir, "index.ts"), "utf8"), programText());
  const text = readFileSync(join(dir, "Pulumi.prod.yaml"), "utf8");
  const spec = loadStackConfig(text, "Pulumi.prod.yaml");
  assert.equal(spec.hub, "nrt");
  assert.deepEqual(
    spec.nodes.map((n) => [n.name, n.role, n.cloud]),
    [
      ["nrt", "hub", "gcp"],
      ["lhr", "pop", "azure"],
      ["gru", "backend", "gcp"],
      ["syd", "backend", "azure"],
    ],
  );
  assert.match(text, /^ {6}gcp: \{ project: edge-mesh-1 \} +# the GCP project/m);
  assert.match(text, /^# Stack prod of edge-mesh/);
  const plan = planMesh(spec);
  const summary = simulatePlanSummary(plan, {});
  assert.equal(summary.reachable, summary.total);
  assert.equal(summary.total, 12);
  // A new mesh survives any one node: the hub and the POP route, each other node has both as homes.
  assert.equal(spec.resilience, "node");
  assert.deepEqual(plan.resilience?.core, ["lhr", "nrt"]);
});

test("on a terminal it asks what no flag gave, each with its default, and asks again after a bad answer", async (t) => {
  const dir = tempDir(t);
  const { ask, asked } = scripted(["aws", "fra, sin", "tokyo", "sin"]);
  await runInit(dir, { stack: "lab" }, ask);
  assert.deepEqual(asked, [
    "Clouds, nodes go to them in turn (of aws, gcp, azure) [aws,gcp,azure]: ",
    "Sites, a node each (of fra, lhr, cdg, iad, gru, sin, nrt, hkg, syd, bom) [fra,iad,sin]: ",
    "Hub, the node everyone reaches [fra]: ",
    "Hub, the node everyone reaches [fra]: ",
  ]);
  const spec = loadStackConfig(readFileSync(join(dir, "Pulumi.lab.yaml"), "utf8"), "Pulumi.lab.yaml");
  assert.equal(spec.hub, "sin");
  assert.deepEqual(spec.nodes.map((n) => n.cloud), ["aws", "aws"]);
  assert.ok(!readFileSync(join(dir, "Pulumi.lab.yaml"), "utf8").includes("gcp"), "no GCP project without GCP nodes");
});

test("refusals: one line naming the fix, and nothing written", async (t) => {
  const base = tempDir(t);
  const busy = join(base, "busy");
  mkdirSync(busy);
  writeFileSync(join(busy, "notes.txt"), "mine");
  const cases: [string, Parameters<typeof runInit>[1], RegExp][] = [
    [busy, {}, /^init: ".*busy" is not empty \(it holds "notes\.txt"\); run wgmesh init in a new or empty folder$/],
    [join(base, "a"), { sites: "fra,atlantis" }, /^init: --sites: "atlantis": init knows the sites fra, lhr, .*\(add others later with wgmesh add-node\)$/],
    [join(base, "b"), { sites: "fra" }, /^init: --sites: name at least two sites: a mesh links two nodes or more$/],
    [join(base, "c"), { sites: "fra,iad", hub: "sin" }, /^init: --hub: "sin" is not one of the sites \(fra, iad\)$/],
    [join(base, "d"), { clouds: "aws,oracle" }, /^init: --clouds: "oracle": the clouds are aws, gcp, azure$/],
    [join(base, "e"), { gcpProject: "My_Project" }, /^init: --gcp-project: "My_Project" is not a GCP project ID: /],
    [join(base, "f"), { stack: "a b" }, /^init: --stack: "a b" is not a stack name: /],
  ];
  for (const [dir, opts, message] of cases) {
    await assert.rejects(runInit(dir, opts), (err: Error) => {
      assert.ok(err instanceof UserError, err.message);
      assert.match(err.message, message);
      assert.ok(!err.message.includes("\n"));
      return true;
    });
  }
  assert.deepEqual(readdirSync(busy), ["notes.txt"]);
  assert.deepEqual(readdirSync(base).sort(), ["busy"], "no folder made for a refused init");
});

test("any clouds, sites and hub init accepts give a stack that plans with every pair reachable", () => {
  const sites = Object.keys(INIT_SITES);
  fc.assert(
    fc.property(fc.subarray([...INIT_CLOUDS], { minLength: 1 }), fc.shuffledSubarray(sites, { minLength: 2, maxLength: 6 }), fc.nat(), (clouds, chosen, h) => {
      const hub = chosen[h % chosen.length] as string;
      const files = newProjectFiles({ project: "p", stack: "s", clouds: clouds as InitCloud[], sites: chosen, hub, gcpProject: "my-gcp-project", wgMesh: "^0.1.0", versions: { pulumi: "1", typescript: "1", typesNode: "1" } });
      const stack = files.find((f) => f.name === "Pulumi.s.yaml")?.text as string;
      const summary = simulatePlanSummary(planMesh(loadStackConfig(stack, "Pulumi.s.yaml")), {});
      assert.equal(summary.reachable, summary.total, stack);
    }),
    { numRuns: 25 },
  );
  assert.ok(!existsSync(join(REPO, "Pulumi.s.yaml")));
});
