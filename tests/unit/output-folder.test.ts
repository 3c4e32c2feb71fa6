/**
 * Output folders: written beside the target and moved into place, replacing only what wg-mesh
 * wrote, never the current folder, the project, a parent of either or `/`, never through a
 * symbolic link. `wgmesh render --out .` in a project's root once left only the node folders.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { OUTPUT_MARKER, OutputRefusedError, checkOutputTarget, createScratchFolder, removeOwnedFolder, writeOutputFolder } from "../../workspace/output";

const REPO = resolve(__dirname, "..", "..");
const BIN = join(REPO, "cli", "bin.js");

function withDir(body: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-output-"));
  try {
    body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const files = [
  { path: "a/wg0.conf", content: "[Interface]\n", mode: 0o600 },
  { path: "a/cloud-init.yaml", content: "#cloud-config\n" },
  { path: "b/wg0.conf", content: "[Interface]\n", mode: 0o600 },
];

/** Everything in a folder, as relative paths, sorted. */
function tree(dir: string, rel = ""): string[] {
  return readdirSync(join(dir, rel))
    .sort()
    .flatMap((name) => {
      const path = rel ? `${rel}/${name}` : name;
      return lstatSync(join(dir, path)).isDirectory() ? [`${path}/`, ...tree(dir, path)] : [path];
    });
}

function refusedWith(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof OutputRefusedError, `an OutputRefusedError, not ${String(err)}`);
    assert.match(err.message, message);
    assert.doesNotMatch(err.message, /\n/);
    return true;
  });
}

test("a new folder: every file with its mode, a marker listing them, no temporary folder left beside it", () => {
  withDir((dir) => {
    const out = join(dir, "out");
    const r = writeOutputFolder(out, files, { tool: "render", cwd: dir });
    assert.deepEqual(r, { path: out, files: 3, replaced: false });
    assert.deepEqual(tree(out), [OUTPUT_MARKER, "a/", "a/cloud-init.yaml", "a/wg0.conf", "b/", "b/wg0.conf"]);
    assert.equal(statSync(join(out, "a", "wg0.conf")).mode & 0o777, 0o600);
    assert.equal(statSync(join(out, "a", "cloud-init.yaml")).mode & 0o777, 0o644);
    assert.equal(statSync(out).mode & 0o777, 0o700, "a folder holding secrets is private");
    assert.deepEqual(JSON.parse(readFileSync(join(out, OUTPUT_MARKER), "utf8")).files, ["a/cloud-init.yaml", "a/wg0.conf", "b/wg0.conf"]);
    assert.deepEqual(readdirSync(dir), ["out"], "nothing else beside it");
  });
});

test("a folder wg-mesh wrote is replaced as a whole; an empty one too", () => {
  withDir((dir) => {
    const out = join(dir, "out");
    writeOutputFolder(out, files, { tool: "render", cwd: dir });
    const r = writeOutputFolder(out, [{ path: "c/wg0.conf", content: "x" }], { tool: "render", cwd: dir });
    assert.equal(r.replaced, true);
    assert.deepEqual(tree(out), [OUTPUT_MARKER, "c/", "c/wg0.conf"]);
    assert.deepEqual(readdirSync(dir), ["out"]);
    const empty = join(dir, "empty");
    mkdirSync(empty);
    writeOutputFolder(empty, files, { tool: "render", cwd: dir });
    assert.ok(existsSync(join(empty, "b", "wg0.conf")));
  });
});

test("a folder holding anything wg-mesh did not write is refused in one line and left exactly as it was", () => {
  withDir((dir) => {
    const mine = join(dir, "mine");
    mkdirSync(mine);
    writeFileSync(join(mine, "notes.txt"), "mine");
    refusedWith(() => writeOutputFolder(mine, files, { tool: "render", label: "--out", cwd: dir }), /^--out ".*mine": exists and was not written by wg-mesh \(it has no \.wgmesh-output\.json\); give a new folder, or empty this one yourself$/);
    assert.deepEqual(tree(mine), ["notes.txt"]);

    // wg-mesh's own folder with a file someone added: refused, nothing lost.
    const out = join(dir, "out");
    writeOutputFolder(out, files, { tool: "render", cwd: dir });
    writeFileSync(join(out, "a", "keep.me"), "mine");
    refusedWith(() => writeOutputFolder(out, files, { tool: "render", cwd: dir }), /holds "a\/keep\.me", which wg-mesh did not write; move it out or give another folder$/);
    assert.ok(existsSync(join(out, "a", "keep.me")));
    // A link inside is not something wg-mesh wrote either, even under a listed name.
    rmSync(join(out, "a", "keep.me"));
    rmSync(join(out, "b", "wg0.conf"));
    symlinkSync("/etc/passwd", join(out, "b", "wg0.conf"));
    refusedWith(() => writeOutputFolder(out, files, { tool: "render", cwd: dir }), /holds "b\/wg0\.conf", which wg-mesh did not write/);
    assert.equal(readFileSync("/etc/passwd", "utf8").length > 0, true);
    assert.deepEqual(readdirSync(dir).sort(), ["mine", "out"], "no temporary folder left");
  });
});

test("never the current folder, the project root, a parent of either, or /; never through a symbolic link", () => {
  withDir((dir) => {
    const project = join(dir, "project");
    const sub = join(project, "sub");
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(project, "Pulumi.yaml"), "name: x\n");
    const guards = { cwd: sub, projectRoot: project, label: "--out" };
    refusedWith(() => checkOutputTarget(sub, guards), /is the current folder/);
    refusedWith(() => checkOutputTarget(".", { ...guards, cwd: process.cwd() }), /^--out "\.": is the current folder/);
    refusedWith(() => checkOutputTarget(project, guards), /is the project's root/);
    refusedWith(() => checkOutputTarget(dir, guards), /holds the current folder/);
    refusedWith(() => checkOutputTarget("/", guards), /^--out "\/": is \//);
    refusedWith(() => checkOutputTarget(join(sub, ".."), guards), /is the project's root/);
    symlinkSync(project, join(dir, "link"));
    refusedWith(() => checkOutputTarget(join(dir, "link"), guards), /is the project's root/);
    mkdirSync(join(dir, "elsewhere"));
    symlinkSync(join(dir, "elsewhere"), join(dir, "link2"));
    refusedWith(() => writeOutputFolder(join(dir, "link2"), files, { tool: "render", cwd: dir }), /is a symbolic link; wg-mesh does not follow links/);
    writeFileSync(join(dir, "file"), "x");
    refusedWith(() => checkOutputTarget(join(dir, "file"), guards), /is a file, not a folder/);
    // Inside the project is fine.
    assert.equal(checkOutputTarget(join(sub, "out"), guards), join(sub, "out"));
    assert.deepEqual(tree(project), ["Pulumi.yaml", "sub/"]);
  });
});

test("a failure while writing leaves the old folder as it was and no temporary folder", () => {
  withDir((dir) => {
    const out = join(dir, "out");
    writeOutputFolder(out, files, { tool: "render", cwd: dir });
    const before = tree(out);
    assert.throws(() => writeOutputFolder(out, [files[0] as (typeof files)[0], { path: "../escape", content: "x" }], { tool: "render", cwd: dir }), /not a plain relative path/);
    assert.throws(() => writeOutputFolder(out, [files[0] as (typeof files)[0], files[0] as (typeof files)[0]], { tool: "render", cwd: dir }), /given twice/);
    assert.deepEqual(tree(out), before);
    assert.deepEqual(readdirSync(dir), ["out"]);
    assert.ok(!existsSync(join(dir, "escape")));
  });
});

test("working folders: created new and marked; removed only when marked, never a protected folder", () => {
  withDir((dir) => {
    const work = join(dir, "lab", "abc123");
    createScratchFolder(work, "lab", { cwd: dir });
    writeFileSync(join(work, "node.log"), "x");
    refusedWith(() => createScratchFolder(work, "lab", { cwd: dir }), /already exists; a working folder is always new/);
    const foreign = join(dir, "foreign");
    mkdirSync(foreign);
    writeFileSync(join(foreign, "x"), "x");
    assert.equal(removeOwnedFolder(foreign, { cwd: dir }), false);
    assert.ok(existsSync(join(foreign, "x")));
    assert.equal(removeOwnedFolder(dir, { cwd: dir }), false, "the current folder is never removed");
    assert.equal(removeOwnedFolder(work, { cwd: dir }), true);
    assert.ok(!existsSync(work));
    assert.equal(removeOwnedFolder(work, { cwd: dir }), false, "gone already");
  });
});

function tempProject(): string {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-render-out-"));
  writeFileSync(join(dir, "Pulumi.yaml"), "name: wg-mesh\nruntime: nodejs\n");
  writeFileSync(join(dir, "Pulumi.staging.yaml"), readFileSync(join(REPO, "Pulumi.staging.yaml")));
  mkdirSync(join(dir, ".git"));
  writeFileSync(join(dir, ".git", "HEAD"), "ref: refs/heads/main\n");
  return dir;
}

function wgmesh(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("`wgmesh render --stack staging --out .` in a project's root: refused in one line, the project untouched", () => {
  const dir = tempProject();
  try {
    const before = tree(dir);
    for (const out of [".", dir, "..", "/"]) {
      const r = wgmesh(["render", "--stack", "staging", "--out", out], dir);
      assert.equal(r.code, 1, `--out ${out}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /^wgmesh: --out ".*": (is the current folder|holds the current folder|is \/)/);
      assert.deepEqual(tree(dir), before);
    }
    mkdirSync(join(dir, "sub"));
    const fromSub = wgmesh(["render", "--stack", "staging", "--out", ".."], join(dir, "sub"));
    assert.match(fromSub.stderr, /^wgmesh: --out "\.\.": (is the project's root|holds the current folder)/);
    // A folder of the user's own: refused; then a new one written, and written again over itself.
    mkdirSync(join(dir, "mine"));
    writeFileSync(join(dir, "mine", "todo.txt"), "x");
    const mine = wgmesh(["render", "--stack", "staging", "--out", "mine"], dir);
    assert.match(mine.stderr, /^wgmesh: --out "mine": exists and was not written by wg-mesh/);
    assert.deepEqual(readdirSync(join(dir, "mine")), ["todo.txt"]);
    const first = wgmesh(["render", "--stack", "staging", "--out", "out"], dir);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^wrote 10 files for 5 nodes to "out" \(private keys are placeholders/);
    const again = wgmesh(["render", "--stack", "staging", "--out", "out"], dir);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /replacing what wg-mesh wrote there before/);
    assert.deepEqual(readdirSync(join(dir, "out")).sort(), [OUTPUT_MARKER, "dub", "fra", "hkg", "nrt", "sin"]);
    assert.ok(existsSync(join(dir, ".git", "HEAD")) && existsSync(join(dir, "Pulumi.staging.yaml")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
