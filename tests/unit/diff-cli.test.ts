/**
 * `wgmesh diff` as a user and the PR workflow run it (cli/bin.js in a child process) in a git
 * repository made for the test: the base read from git (default: the merge base with the
 * default branch), --base-file, the exit codes 0/1/2/3, and one line for every kind of bad input.
 */
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { AGENT_VERSION } from "../../infra/render/agent";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const REPO = resolve(__dirname, "..", "..");
const BIN = join(REPO, "cli", "bin.js");
const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function run(cmd: string, args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.invalid", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.invalid" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function wgmesh(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  return run(process.execPath, [BIN, ...args], cwd);
}

/** A project on branch main with prod committed, then a feature branch checked out. */
function repo(): string {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-diff-"));
  made.push(dir);
  for (const f of ["Pulumi.yaml", "Pulumi.prod.yaml"]) copyFileSync(join(REPO, f), join(dir, f));
  for (const args of [["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "prod"], ["checkout", "-qb", "feature"]]) {
    const r = run("git", args, dir);
    assert.equal(r.code, 0, r.stderr);
  }
  return dir;
}

const WAW = "      waw: { role: backend, region: europe, site: waw, address: 10.50.3.4, cloud: aws, aws: { region: eu-central-1 } }\n";

function addBackend(dir: string): void {
  const file = join(dir, "Pulumi.prod.yaml");
  writeFileSync(file, readFileSync(file, "utf8").replace("      syd:\n", `${WAW}      syd:\n`));
}

test("no change against the merge base with main: exit 0", () => {
  const dir = repo();
  const r = wgmesh(["diff", "--stack", "prod"], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Stack prod: merge base with main \([0-9a-f]{12}\) -> working tree\nno change\n/);
});

test("a change: exit 1, against the merge base even after main moved on", () => {
  const dir = repo();
  // main gains a node after the branch was made; the branch's diff must not show it reversed.
  run("git", ["checkout", "-q", "main"], dir);
  const file = join(dir, "Pulumi.prod.yaml");
  writeFileSync(file, readFileSync(file, "utf8").replace("      syd:\n", "      mad: { role: backend, region: europe, site: mad, address: 10.50.3.9, cloud: aws, aws: { region: eu-south-2 } }\n      syd:\n"));
  run("git", ["commit", "-qam", "mad"], dir);
  run("git", ["checkout", "-q", "feature"], dir);
  addBackend(dir);
  const r = wgmesh(["diff", "--stack", "prod"], dir);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^1 node added, 1 link added, 1 node changed$/m);
  assert.doesNotMatch(r.stdout, /mad/);
  const json = JSON.parse(wgmesh(["diff", "--stack", "prod", "--json", "--base", "main"], dir).stdout) as { nodesAdded: { name: string }[]; nodesRemoved: { name: string }[] };
  assert.deepEqual(json.nodesRemoved.map((n) => n.name), ["mad"], "--base main compares with main's tip");
});

test("the node agent: a base that released another agent, or none (before agents), is an agent change on every cloud node", () => {
  const dir = repo();
  const file = join(dir, "infra", "render", "agent-version.json");
  mkdirSync(join(dir, "infra", "render"), { recursive: true });
  writeFileSync(file, JSON.stringify({ version: "0.1.0", sha256: "" }));
  run("git", ["add", "."], dir);
  run("git", ["commit", "-qm", "agent 0.1.0"], dir);
  const r = wgmesh(["diff", "--stack", "prod", "--base", "HEAD"], dir);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, new RegExp(`^agent 0\\.1\\.0 -> ${AGENT_VERSION.replace(/\./g, "\\.")} on 12 nodes$`, "m"));
  assert.match(r.stdout, new RegExp(`^Node agent\n  agent 0\\.1\\.0 -> ${AGENT_VERSION.replace(/\./g, "\\.")} on 12 nodes, in place, no tunnel restart$`, "m"));
  const md = wgmesh(["diff", "--stack", "prod", "--base", "HEAD", "--markdown"], dir);
  assert.match(md.stdout, /^- \*\*node agent\*\* agent 0\.1\.0 -\\> \S+ on 12 nodes, in place, no tunnel restart$/m);
  // Against main, which has no agent-version.json: the first agent, taken by today's sync script.
  const first = wgmesh(["diff", "--stack", "prod", "--base", "main"], dir);
  assert.equal(first.code, 1, first.stderr);
  assert.match(first.stdout, /^ {2}agent \S+ on 12 nodes, in place, no tunnel restart: the sync script of their user data applies the new entry in place and installs the bootstrap from it; its next run installs the agent$/m);
  // A newer agent at the base: every node would refuse the older one, exit 3.
  writeFileSync(file, JSON.stringify({ version: "99.0.0", sha256: "" }));
  run("git", ["commit", "-qam", "agent 99"], dir);
  const back = wgmesh(["diff", "--stack", "prod", "--base", "HEAD", "--markdown"], dir);
  assert.equal(back.code, 3, back.stderr);
  assert.match(back.stdout, /❌ \*\*every node refuses an older agent\*\*/);
  assert.match(back.stdout, /agent 99\.0\.0 -\\> \S+ on 12 nodes: older than the agent they run, so every node refuses its whole entry/);
});

test("--base-file and --markdown", () => {
  const dir = repo();
  addBackend(dir);
  const r = wgmesh(["diff", "--stack", "prod", "--base-file", join(REPO, "Pulumi.prod.yaml"), "--markdown"], dir);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /^### wg-mesh diff: stack `prod`/);
  assert.match(r.stdout, /Reachability \*\*132 of 132 → 156 of 156\*\*/);
});

test("a change that breaks reachability: exit 3", () => {
  const dir = repo();
  const file = join(dir, "Pulumi.prod.yaml");
  const text = readFileSync(file, "utf8").replace(/( {6}(?:nrt|sin|syd):\n(?: {8}.*\n)*? {8})cloud: \w+\n {8}\w+: \{[^}]*\}\n/g, "$1cloud: external\n");
  writeFileSync(file, text);
  const r = wgmesh(["diff", "--stack", "prod"], dir);
  assert.equal(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stdout, /132 of 132 -> 132 of 132 ordered pairs reachable; 72 of 132 until nrt, sin, syd have their wg0\.conf installed by hand; 60 pairs stop being reachable/);
});

test("bad input is exit 2 and one line: unknown ref, missing file at the ref, not a repository, bad head, bad base, both flags", () => {
  const dir = repo();
  const cases: [string[], RegExp, string?][] = [
    [["--base", "nope"], /^wgmesh: --base "nope": no such commit in this repository; fetch it first \(git fetch origin\) or name another\n$/],
    [["--base", "--output=/tmp/x"], /^wgmesh: --base "--output=\/tmp\/x" is not a git ref/],
    [["--base-file", join(dir, "missing.yaml")], /^wgmesh: --base-file ".*missing\.yaml": cannot read it \(ENOENT\)\n$/],
    [["--base", "main", "--base-file", "x"], /^wgmesh: give --base REF or --base-file FILE, not both\n$/],
  ];
  for (const [args, want] of cases) {
    const r = wgmesh(["diff", "--stack", "prod", ...args], dir);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, want);
    assert.equal(r.stdout, "");
  }
  // The stack is new on this branch: it does not exist at the base.
  copyFileSync(join(dir, "Pulumi.prod.yaml"), join(dir, "Pulumi.eu.yaml"));
  let r = wgmesh(["diff", "--stack", "eu"], dir);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^wgmesh: Pulumi\.eu\.yaml does not exist at [0-9a-f]{12}; the stack is new there/);
  // A base that does not validate names itself as the base.
  writeFileSync(join(dir, "old.yaml"), readFileSync(join(dir, "Pulumi.prod.yaml"), "utf8").replace("listenPort: 51820", "listenPort: 70000"));
  r = wgmesh(["diff", "--stack", "prod", "--base-file", join(dir, "old.yaml")], dir);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^listenPort: must be at most 65535.*\n1 problem in Pulumi\.prod\.yaml at .*old\.yaml \(the base; compare with another --base\); nothing was written\n$/);
  // The working tree's file is checked like wgmesh plan checks it.
  writeFileSync(join(dir, "Pulumi.prod.yaml"), readFileSync(join(dir, "Pulumi.prod.yaml"), "utf8").replace("address: 10.50.4.2", "address: 10.50.9.2"));
  r = wgmesh(["diff", "--stack", "prod"], dir);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^nodes\.sin\.address: 10\.50\.9\.2 is outside region apac/);
  // Not a repository at all.
  const plain = mkdtempSync(join(tmpdir(), "wgmesh-diff-plain-"));
  made.push(plain);
  for (const f of ["Pulumi.yaml", "Pulumi.prod.yaml"]) copyFileSync(join(REPO, f), join(plain, f));
  r = wgmesh(["diff", "--stack", "prod"], plain);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^wgmesh: .* is not inside a git repository; compare with --base-file FILE instead\n$/);
});
