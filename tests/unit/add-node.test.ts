/**
 * `wgmesh add-node` and `remove-node` on real stack files: the node's place in the address plan, the
 * file changed by exactly the node's lines (every other byte kept), the change summary as `wgmesh
 * diff` prints it, and refusals that write nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAddNode, runRemoveNode } from "../../cli/nodes";
import { runInit } from "../../cli/init";
import { UserError } from "../../infra/errors";
import { MeshConfigError } from "../../infra/model";
import { planStackText } from "../../workspace/project";

const REPO = join(__dirname, "..", "..");

/** A project folder with the repository's Pulumi.yaml and the given stack files. */
function project(t: { after(fn: () => void): void }, stacks: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-add-node-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  copyFileSync(join(REPO, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
  for (const [name, text] of Object.entries(stacks)) writeFileSync(join(dir, `Pulumi.${name}.yaml`), text);
  return dir;
}

const prod = readFileSync(join(REPO, "Pulumi.prod.yaml"), "utf8");

/** The text with `lines` inserted after the line that is exactly `after`. */
function inserted(text: string, after: string, lines: string[]): string {
  const at = text.indexOf(`${after}\n`);
  assert.ok(at >= 0, `no line ${after}`);
  const end = at + after.length + 1;
  return text.slice(0, end) + lines.map((l) => `${l}\n`).join("") + text.slice(end);
}

test("a backend in Frankfurt joins prod's europe region at its next free address; the file gains exactly its lines", (t) => {
  const dir = project(t, { prod });
  const out = runAddNode("waw", { cloud: "aws", region: "eu-central-1", role: "backend", stack: "prod" }, dir);
  const after = readFileSync(join(dir, "Pulumi.prod.yaml"), "utf8");
  // prod names every node's site, so the new one does too; its placement map is flow, as its neighbours'.
  const lastNode = prod.trimEnd().split("\n").at(-1) as string;
  assert.equal(after, inserted(prod, lastNode, ["      waw:", "        role: backend", "        region: europe", "        site: fra", "        address: 10.50.3.4", "        cloud: aws", "        aws: { region: eu-central-1 }"]));
  assert.match(out, /^added waw to Pulumi\.prod\.yaml: backend on aws eu-central-1, site fra, region europe, address 10\.50\.3\.4\n\nStack prod: before -> after add-node waw\n1 node added, 1 link added, 1 node changed\nReachability: 132 of 132 -> 156 of 156 ordered pairs reachable; no pair stops being reachable\n/);
  assert.match(out, /\n {2}~ ireland {2}hub, aws eu-west-1, 10\.50\.0\.1\/24: peers: 1 added\n/);
  const spec = planStackText(after, "prod", dir).spec;
  assert.deepEqual(spec.nodes.find((n) => n.name === "waw"), { ...spec.nodes.find((n) => n.name === "waw"), region: "europe", address: "10.50.3.4", site: "fra" });
});

test("a POP where the area has no POP region: a new region with the next free subnet, after the last region", (t) => {
  const dir = project(t, { prod });
  const out = runAddNode("par2", { cloud: "gcp", region: "europe-west9-a", role: "pop", stack: "prod" }, dir);
  assert.match(out, /^added par2 to Pulumi\.prod\.yaml: pop on gcp europe-west9-a, site cdg, new region europe-pop \(10\.50\.6\.0\/24, area europe\), address 10\.50\.6\.1\n/);
  const after = readFileSync(join(dir, "Pulumi.prod.yaml"), "utf8");
  // prod lines its regions' values up in a column; the new one joins it.
  assert.equal(after.split("\n").indexOf("      europe-pop:    { subnet: 10.50.6.0/24, area: europe }"), prod.split("\n").indexOf("      apac-pop:      { subnet: 10.50.5.0/24, area: apac }") + 1);
  const spec = planStackText(after, "prod", dir).spec;
  assert.deepEqual(spec.regions.at(-1), { name: "europe-pop", subnet: "10.50.6.0/24", area: "europe" });
});

test("on init's file: no site line (the catalogue places it), the comment on each key kept; remove-node takes out exactly its lines", async (t) => {
  const base = mkdtempSync(join(tmpdir(), "wgmesh-add-node-init-"));
  t.after(() => rmSync(base, { recursive: true, force: true }));
  const dir = join(base, "p");
  await runInit(dir, { yes: true });
  const before = readFileSync(join(dir, "Pulumi.dev.yaml"), "utf8");
  runAddNode("osa", { cloud: "azure", region: "japanwest", role: "backend" }, dir);
  const added = readFileSync(join(dir, "Pulumi.dev.yaml"), "utf8");
  assert.equal(added, `${before}      osa:\n        role: backend\n        region: apac\n        address: 10.60.2.2\n        cloud: azure\n        azure: { location: japanwest }\n`);
  // init's mesh asks for resilience: iad is one of its two routers, so it cannot go, and the file stays as it was.
  assert.throws(() => runRemoveNode("iad", {}, dir), /resilience: node needs at least two nodes that may carry others' traffic/);
  assert.equal(readFileSync(join(dir, "Pulumi.dev.yaml"), "utf8"), added);
  const out = runRemoveNode("sin", {}, dir);
  assert.match(out, /^removed sin from Pulumi\.dev\.yaml\n\nStack dev: before -> after remove-node sin\n1 node removed/);
  const removed = readFileSync(join(dir, "Pulumi.dev.yaml"), "utf8");
  const sin = added.slice(added.indexOf("      sin:"), added.indexOf("      osa:"));
  assert.ok(sin.startsWith("      sin:") && sin.split("\n").length === 7, sin);
  assert.equal(removed, added.replace(sin, ""));
});

test("a placement written as a block map, and a file without a last newline, are followed", (t) => {
  const blocky = prod.replace("        azure: { location: australiaeast }", "        azure:\n          location: australiaeast").trimEnd();
  assert.notEqual(blocky, prod.trimEnd(), "the test changed syd's placement");
  const dir = project(t, { prod: blocky });
  runAddNode("mel", { cloud: "aws", region: "ap-southeast-4", role: "backend", site: "syd", stack: "prod" }, dir);
  const after = readFileSync(join(dir, "Pulumi.prod.yaml"), "utf8");
  assert.ok(after.endsWith("          location: australiaeast\n      mel:\n        role: backend\n        region: apac\n        site: syd\n        address: 10.50.4.4\n        cloud: aws\n        aws:\n          region: ap-southeast-4\n"), after.slice(-300));
});

test("refusals: one line naming the fix, and the file untouched", (t) => {
  // A hub region and a full backend region fill the overlay.
  const tiny = [
    "config:",
    "  wg-mesh:mesh:",
    "    overlay: 10.9.0.0/28",
    "    topology: hub",
    "    hub: a",
    "    regions:",
    "      h: { subnet: 10.9.0.0/29, area: europe }",
    "      r: { subnet: 10.9.0.8/29, area: europe }",
    "    nodes:",
    ...["a", "b", "c", "d", "e", "f", "g"].flatMap((n, i) => [
      `      ${n}:`,
      `        role: ${i === 0 ? "hub" : "backend"}`,
      `        region: ${i === 0 ? "h" : "r"}`,
      `        address: 10.9.0.${i === 0 ? 1 : 8 + i}`,
      "        cloud: aws",
      "        aws: { region: eu-central-1 }",
    ]),
    "",
  ].join("\n");
  const flowNodes = prod.replace(/ {4}nodes:[\s\S]*$/, "    nodes: { ireland: { role: hub, region: central, site: dub, address: 10.50.0.1, cloud: aws, aws: { region: eu-west-1 } } }\n");
  const dir = project(t, { prod, tiny, flow: flowNodes });
  const cases: [() => unknown, RegExp][] = [
    [() => runAddNode("fra", { cloud: "aws", region: "eu-central-1", role: "backend", stack: "prod" }, dir), /^nodes\.fra: the stack has a node of that name; choose another name$/],
    [() => runAddNode("x", { cloud: "aws", region: "eu-central-1", role: "backend", address: "10.50.3.1", stack: "prod" }, dir), /^--address 10\.50\.3\.1: node lhr has it; leave --address out for the next free one$/],
    [() => runAddNode("x", { cloud: "gcp", region: "europe-west1", role: "backend", stack: "prod" }, dir), /^--region "europe-west1": a GCP node goes in a zone; give one of europe-west1's zones/],
    [() => runAddNode("x", { cloud: "aws", region: "mars-north-1", role: "backend", stack: "prod" }, dir), /^--region "mars-north-1": not a region of aws in wg-mesh's catalogue .*give --site CODE/],
    [() => runAddNode("x", { cloud: "aws", region: "eu-central-1", role: "backend", stack: "tiny" }, dir), /^nodes\.x: r \(10\.9\.0\.8\/29\) has no free address, and overlay 10\.9\.0\.0\/28 has no room for another \/29 region; widen the overlay, or give --address in a region with room$/],
    [() => runAddNode("x", { cloud: "aws", region: "eu-central-1", role: "backend", stack: "flow" }, dir), /^Pulumi\.flow\.yaml: nodes is written as a flow map \(\{ \.\.\. \}\); wg-mesh adds to block maps only/],
    [() => runRemoveNode("ireland", { stack: "prod" }, dir), /^nodes\.ireland: it is the hub; make another node the hub first/],
    [() => runRemoveNode("x", { stack: "prod" }, dir), /^nodes\.x: Pulumi\.prod\.yaml has no such node \(it has ireland, hkg, /],
    [() => runAddNode("x", { cloud: "aws", region: "eu-central-1", role: "backend" }, dir), /^say which stack: --stack flow or --stack prod or --stack tiny$/],
  ];
  for (const [run, message] of cases) {
    assert.throws(run, (err: Error) => {
      assert.ok(err instanceof UserError, `${err.name}: ${err.message}`);
      assert.match(err.message, message);
      assert.ok(!err.message.includes("\n"), err.message);
      return true;
    });
  }
  // A change the checker refuses (a link to the node removed) is reported as wgmesh plan would, and not written.
  const linked = prod.replace("        aws: { region: ap-northeast-1 }\n", "        aws: { region: ap-northeast-1 }\n        links: [{ peer: syd, weight: 49 }]\n");
  assert.notEqual(linked, prod);
  const dir2 = project(t, { prod: linked });
  assert.throws(() => runRemoveNode("syd", { stack: "prod" }, dir2), (err: Error) => err instanceof MeshConfigError && /syd/.test(err.message));
  assert.equal(readFileSync(join(dir2, "Pulumi.prod.yaml"), "utf8"), linked);
  for (const [name, text] of Object.entries({ prod, tiny, flow: flowNodes })) assert.equal(readFileSync(join(dir, `Pulumi.${name}.yaml`), "utf8"), text, name);
});
