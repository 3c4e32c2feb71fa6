/** `wgmesh plan --diagram/--map/--mermaid` as a user runs them (cli/bin.js in a child process). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkPictureTargets } from "../../workspace/pictures";
import { isGeneratedSvg } from "../../infra/draw/generated";
import { REPO, elementTexts, parseMermaid, stackPlan, xmlError } from "../support/pictures";

const BIN = join(REPO, "cli", "bin.js");

function wgmesh(args: string[], env: NodeJS.ProcessEnv = process.env): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO, encoding: "utf8", env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function inTemp(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-pic-"));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("plan --diagram --map: both pictures written, marked, well-formed, naming every node; the plan still printed", () => {
  inTemp((dir) => {
    const diagram = join(dir, "d.svg");
    const map = join(dir, "m.svg");
    const r = wgmesh(["plan", "--stack", "staging", "--diagram", diagram, "--map", map]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Stack staging: 5 nodes/);
    assert.deepEqual(r.stderr.trimEnd().split("\n"), [`diagram: ${diagram} (created)`, `map: ${map} (created)`]);
    const plan = stackPlan("staging");
    for (const file of [diagram, map]) {
      const svg = readFileSync(file, "utf8");
      assert.ok(isGeneratedSvg(svg), file);
      assert.equal(xmlError(svg), undefined, file);
      const texts = elementTexts(svg, "text");
      for (const n of plan.nodes) assert.ok(texts.includes(n.name), `${file}: ${n.name}`);
    }
    const again = wgmesh(["plan", "--stack", "staging", "--diagram", diagram, "--map", map]);
    assert.deepEqual(again.stderr.trimEnd().split("\n"), [`diagram: ${diagram} (unchanged)`, `map: ${map} (unchanged)`]);
  });
});

test("plan --mermaid prints only a ```mermaid block that parses", () => {
  const r = wgmesh(["plan", "--stack", "prod", "--mermaid"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines[0], "```mermaid");
  assert.equal(lines.at(-1), "```");
  const g = parseMermaid(`${lines.slice(1, -1).join("\n")}\n`);
  assert.equal(g.nodes.length, 12);
  assert.equal(g.links.length, stackPlan("prod").links.length);
});

test("refusals: one line, exit 1, nothing written, not even the other picture", () => {
  inTemp((dir) => {
    const theirs = join(dir, "theirs.svg");
    writeFileSync(theirs, "<svg/>");
    const map = join(dir, "map.svg");
    const r = wgmesh(["plan", "--stack", "staging", "--map", map, "--diagram", theirs]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^wgmesh: ".*theirs\.svg" was not written by wg-mesh .*refusing to overwrite it.*\n$/);
    assert.equal(readFileSync(theirs, "utf8"), "<svg/>");
    assert.ok(!existsSync(map));

    const both = wgmesh(["plan", "--stack", "staging", "--mermaid", "--json"]);
    assert.equal(both.code, 1);
    assert.equal(both.stderr, "wgmesh: --mermaid and --json both choose what is printed; use one\n");
    assert.deepEqual(readdirSync(dir), ["theirs.svg"]);
  });
});

test("picture targets are checked before any work: SVG names only, one file per picture, no folders", () => {
  inTemp((dir) => {
    const folder = join(dir, "pics.svg");
    mkdirSync(folder);
    for (const [opts, why] of [
      [{ diagram: join(dir, "x.png") }, /^--diagram ".*x\.png": wg-mesh draws SVG; name the file with \.svg at the end$/],
      [{ diagram: join(dir, "same.svg"), map: join(dir, ".", "same.svg") }, /both name .*; give each picture its own file$/],
      [{ map: folder }, /is a folder; name a file/],
      [{ map: join(dir, "no", "m.svg") }, /there is no folder/],
    ] as [{ diagram?: string; map?: string }, RegExp][]) {
      assert.throws(() => checkPictureTargets(opts), (err: Error) => err.name === "UserError" && why.test(err.message) && !err.message.includes("\n"), JSON.stringify(opts));
    }
    assert.deepEqual(checkPictureTargets({ diagram: join(dir, "d.svg"), map: join(dir, "m.SVG") }).map((t) => t.kind), ["diagram", "map"]);
    assert.deepEqual(readdirSync(dir), ["pics.svg"]);
  });
});

test("without Graphviz: --diagram says how to get it, in one line, and the map asked for with it is not written either", () => {
  inTemp((dir) => {
    const r = wgmesh(["plan", "--stack", "staging", "--map", join(dir, "m.svg"), "--diagram", join(dir, "d.svg")], { ...process.env, PATH: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^wgmesh: Graphviz's dot is not installed.*apt-get install graphviz.*--mermaid\n$/);
    assert.deepEqual(readdirSync(dir), []);
  });
});
