/**
 * `wgmesh lab` as a user runs it: a folder of wg-quick files in, a matrix and an exit code
 * out; `--keep` and `lab down`; one-line errors. Only the lab command is registered, so
 * this does not depend on the rest of the CLI. The real-WireGuard cases need root and skip
 * loudly without it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { WgQuickConfig } from "../../infra/model";
import { formatWgQuick } from "../../infra/wgquick";
import { labBlocker } from "../../lab/preflight";
import { simulatePlan } from "../../infra/simulate/plan";
import { loadStack } from "../../workspace/project";
import { sampleMesh } from "../../lab/sample-mesh";
import { leftoversOfLab } from "../../lab/teardown";

const REPO = resolve(__dirname, "..", "..");
const blocker = labBlocker();
if (blocker) process.stderr.write(`\n*** SKIPPING the real-WireGuard lab CLI tests: ${blocker} ***\n\n`);

/**
 * The modules are loaded first, then, when WGMESH_TEST_UID is set, the process gives up root:
 * so the command runs as that user wherever the checkout lives, even under a folder only root
 * can read (a mktemp -d folder, /root).
 */
const ENTRY = `
  const { Command } = require("commander");
  const { registerLabCommand } = require("./cli/lab.ts");
  const uid = process.env.WGMESH_TEST_UID;
  if (uid) { process.setgroups([]); process.setgid(Number(uid)); process.setuid(Number(uid)); }
  const program = new Command("wgmesh").exitOverride();
  registerLabCommand(program);
  program.parseAsync(process.argv.slice(1), { from: "user" }).catch((e) => { process.stderr.write(e.message + "\\n"); process.exitCode = 2; });
`;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function wgmesh(args: string[], uid?: number): Promise<CliResult> {
  return new Promise((res) => {
    const env = uid === undefined ? process.env : { ...process.env, WGMESH_TEST_UID: String(uid) };
    const child = spawn(process.execPath, ["--import", "tsx", "-e", ENTRY, ...args], { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("close", (code) => res({ code, stdout, stderr }));
  });
}

function writeConfigDir(configs: Record<string, WgQuickConfig>): string {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-lab-cli-"));
  for (const [node, config] of Object.entries(configs)) writeFileSync(join(dir, `${node}.conf`), formatWgQuick(config), { mode: 0o600 });
  return dir;
}

function labTest(name: string, fn: () => Promise<void>): void {
  test(name, { skip: blocker ? `lab cannot run here: ${blocker}` : false, timeout: 120_000 }, fn);
}

test("without --stack or --dir: one line saying what to give, non-zero exit", async () => {
  const r = await wgmesh(["lab"]);
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /--stack NAME .* or --dir DIR/);
  assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/);
});

test("a bad --latency file: one line naming the file and the key", async () => {
  const dir = writeConfigDir(sampleMesh({ hub: "hub", spokes: ["a"] }).configs);
  const file = join(dir, "rtt.json");
  writeFileSync(file, JSON.stringify({ rttMs: { "hub-a": "slow" } }));
  try {
    const r = await wgmesh(["lab", "--dir", dir, "--latency", file]);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /rtt\.json": rttMs\.hub-a: must be a round-trip time/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("not as root: one line saying the lab needs root, before anything is read or made", async () => {
  // As root, the refusal is shown by the same process giving up root (to nobody) once loaded.
  const asRoot = process.getuid?.() === 0;
  const r = await wgmesh(["lab", "--stack", "staging"], asRoot ? 65534 : undefined);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, "wgmesh: lab: the lab creates network namespaces and needs root: run it with sudo\n");
  assert.equal(r.stdout, "");
});

labTest("lab --stack staging: progress while it comes up, the matrix, the plan's closing line, exit 0", async () => {
  const r = await wgmesh(["lab", "--stack", "staging"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^lab [0-9a-f]{6}: 5 nodes, underlay 198\.18\.0\.0\/15$/m);
  assert.match(r.stderr, /^dub: wireguard-go wgl[0-9a-f]{6}n0 \(pid \d+\)$/m);
  assert.match(r.stderr, /^lab [0-9a-f]{6}: up in \d+\.\ds$/m);
  assert.doesNotMatch(r.stdout, /disagree/);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines.at(-1), "20 of 20 ordered pairs reachable");
  assert.ok(lines.some((l) => /^nrt +1 +1 +\. +2 +2$/.test(l)), `nrt's row: 1 hop to dub and hkg, 2 to sin and fra\n${r.stdout}`);
  const id = /^lab ([0-9a-f]{6}):/m.exec(r.stderr)?.[1] as string;
  assert.deepEqual(leftoversOfLab(id), []);
});

labTest("lab --stack prod: 132 of 132 ordered pairs, the figure wgmesh plan gives, hops as planned", async () => {
  const r = await wgmesh(["lab", "--stack", "prod", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { lab: string; reachable: number; total: number; disagreements: unknown[] };
  const planned = simulatePlan(loadStack("prod", REPO).plan);
  assert.deepEqual([out.reachable, out.total], [planned.reachable, planned.total]);
  assert.deepEqual([out.reachable, out.total], [132, 132]);
  assert.deepEqual(out.disagreements, []);
  assert.deepEqual(leftoversOfLab(out.lab), []);
});

labTest("lab --dir --json: every pair reachable with hop counts, unknown PostUp reported and not run", async () => {
  const mesh = sampleMesh({ hub: "hub", spokes: ["a", "b"] });
  const marker = join(tmpdir(), `wgmesh-lab-marker-${process.pid}`);
  const hub = mesh.configs.hub as WgQuickConfig;
  const configs = { ...mesh.configs, hub: { ...hub, iface: { ...hub.iface, postUp: [...hub.iface.postUp, `touch ${marker}`] } } };
  const dir = writeConfigDir(configs);
  try {
    const r = await wgmesh(["lab", "--dir", dir, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      lab: string;
      reachable: number;
      total: number;
      pairs: { from: string; to: string; hops: number }[];
      skippedHooks: { node: string; hook: string; command: string }[];
    };
    assert.equal(out.total, 6);
    assert.equal(out.reachable, 6);
    assert.equal(out.pairs.find((p) => p.from === "a" && p.to === "b")?.hops, 2);
    assert.equal(out.pairs.find((p) => p.from === "a" && p.to === "hub")?.hops, 1);
    assert.deepEqual(out.skippedHooks, [{ node: "hub", hook: "PostUp", command: `touch ${marker}` }]);
    assert.equal(existsSync(marker), false, "a PostUp command ran");
    assert.deepEqual(leftoversOfLab(out.lab), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(marker, { force: true });
  }
});

labTest("lab --dir with an unreachable pair: the matrix shows -, the plan's closing line, exit code 1", async () => {
  const dir = writeConfigDir(sampleMesh({ hub: "hub", spokes: ["a", "b"], hubForwards: false }).configs);
  try {
    const r = await wgmesh(["lab", "--dir", dir]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    assert.equal(lines.at(-1), "4 of 6 ordered pairs reachable");
    const cells = lines.map((l) => l.trim().split(/\s+/));
    const header = cells.find((c) => c[0] === "from")?.slice(3) ?? [];
    const cell = (from: string, to: string): string | undefined => cells.find((c) => c[0] === from)?.[1 + header.indexOf(to)];
    assert.equal(cell("a", "b"), "-", r.stdout);
    assert.equal(cell("a", "hub"), "1", r.stdout);
    assert.equal(cell("hub", "b"), "1", r.stdout);
    assert.equal(cell("b", "b"), ".", r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

labTest("lab --keep leaves the lab running and says how to enter it; lab down removes it", async () => {
  const dir = writeConfigDir(sampleMesh({ hub: "hub", spokes: ["a"] }).configs);
  let id = "";
  try {
    const r = await wgmesh(["lab", "--dir", dir, "--keep", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    id = (JSON.parse(r.stdout) as { lab: string }).lab;
    assert.match(r.stderr, new RegExp(`ip netns exec wgl-${id}-hub bash`));
    assert.match(r.stderr, new RegExp(`wg show wgl${id}n0`));
    assert.notDeepEqual(leftoversOfLab(id), [], "the kept lab is still there");
    const down = await wgmesh(["lab", "down"]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, new RegExp(`lab ${id}: removed`));
    assert.deepEqual(leftoversOfLab(id), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (id) await wgmesh(["lab", "down", "--id", id]);
  }
});
