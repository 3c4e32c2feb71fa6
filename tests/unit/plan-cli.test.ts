/**
 * `wgmesh plan` and latency, as a user runs it: the model's round trips per pair, the seed's
 * HKG rows through the hub against direct, prod under topology auto, a large mesh summarised
 * instead of listed, and a config too big for its vault refused in one line.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { worldMeshConfig } from "../../bench/world-mesh";

const REPO = resolve(__dirname, "..", "..");
const BIN = join(REPO, "cli", "bin.js");

function wgmesh(args: string[], cwd = REPO): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function withProject(stackYaml: string, run: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-plan-"));
  try {
    writeFileSync(join(dir, "Pulumi.yaml"), "name: wg-mesh\nruntime: nodejs\n");
    writeFileSync(join(dir, "Pulumi.x.yaml"), stackYaml);
    run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("plan --stack prod: the latency summary reproduces the regional plan's detours through Dublin", () => {
  const r = wgmesh(["plan", "--stack", "prod"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /direct round trips: 132 Azure 2025 table/);
  assert.match(r.stdout, /^ {2}22 of 132 pairs above x2; 88 of 132 within x1\.3 or \+5 ms of direct$/m);
  assert.match(r.stdout, /^ {4}iad -> ord: iad -> ireland -> ord {2}161 ms, direct 20 ms, x8\.05$/m);
  assert.match(r.stdout, /^ {2}fra -> cdg: fra -> ireland -> cdg {2}46 ms, direct 12 ms, x3\.83$/m);
  assert.match(r.stdout, /^ {2}ord -> lax: ord -> ireland -> lax {2}227 ms, direct 51 ms, x4\.45$/m);
});

test("plan --stack prod --compare hub: the seed's HKG rows, through the hub against direct, from the model", () => {
  const r = wgmesh(["plan", "--stack", "prod", "--compare", "hub"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {2}hkg -> nrt: hkg -> nrt \(direct\) {2}53 ms, direct 53 ms, x1\.00; hub: hkg -> ireland -> nrt 428 ms, x8\.08$/m);
  assert.match(r.stdout, /^ {2}hkg -> sin: hkg -> sin \(direct\) {2}36 ms, direct 36 ms, x1\.00; hub: hkg -> ireland -> sin 362 ms, x10\.06$/m);
  assert.match(r.stdout, /^ {2}hkg -> syd: hkg -> syd \(direct\) {2}122 ms, direct 122 ms, x1\.00; hub: hkg -> ireland -> syd 452 ms, x3\.70$/m);
  assert.match(r.stdout, /^Compared with topology hub \(11 links, max 11 peers per node; here 14 and 11\)$/m);
  // Only the pairs hub routes differently are listed; the ones it routes the same are counted.
  const rows = (r.stdout.split("Paths that differ under topology hub\n")[1] ?? "").split("\n\n")[0]?.split("\n") ?? [];
  const listed = rows.filter((l) => /^ {2}\w+ -> \w+: /.test(l));
  assert.equal(listed.length, 12, rows.join("\n"));
  for (const l of listed) {
    const m = /^ {2}\w+ -> \w+: (.+?) {2}.*; hub: (.+?) \d/.exec(l);
    assert.ok(m && m[1]?.replace(" (direct)", "") !== m[2], `a listed pair differs: ${l}`);
  }
  assert.equal(rows.at(-1), "  120 other pairs take the same path under both");
  assert.doesNotMatch(r.stdout, /^ {2}gru -> iad: /m, "a pair both topologies send through the hub is not listed");
  const bad = wgmesh(["plan", "--stack", "prod", "--compare", "star"]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /must be one of hub, regional, full, auto/);
});

test("prod under topology auto: every pair within the bound, peers well under maxPeers", () => {
  const yaml = readFileSync(join(REPO, "Pulumi.prod.yaml"), "utf8").replace("topology: regional", "topology: auto");
  withProject(yaml, (dir) => {
    const r = wgmesh(["plan", "--stack", "x", "--json"], dir);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { latency: { pairs: number; withinBound: number; misses: number }; nodes: { peers: unknown[] }[]; reachable: number; total: number };
    assert.equal(doc.reachable, 132);
    assert.equal(doc.latency.withinBound, 132);
    assert.equal(doc.latency.misses, 0);
    assert.ok(Math.max(...doc.nodes.map((n) => n.peers.length)) <= 16);
    const text = wgmesh(["plan", "--stack", "x"], dir);
    assert.match(text.stdout, /^ {2}every pair within the bound \(maxStretch 1\.3, \+5 ms\)$/m);
  });
});

test("a large mesh: a summary, not a line per pair, unless --pairs asks", () => {
  const yaml = stringify({ config: { "wg-mesh:mesh": worldMeshConfig(150, { topology: "auto" }) } });
  withProject(yaml, (dir) => {
    const r = wgmesh(["plan", "--stack", "x"], dir);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    const forwarding = Number(/; (\d+) nodes forward$/m.exec(r.stdout)?.[1]);
    // A line per forwarding node (every one, with why and the pairs that cross it), and a few dozen others:
    // among them the single failures, a few of each kind that lose pairs, the rest counted.
    assert.equal(lines.filter((l) => / ordered pairs cross it/.test(l)).length, forwarding);
    assert.ok(lines.length < 55 + forwarding, `${lines.length} lines`);
    assert.match(r.stdout, /^ {2}single failures: \d+ of \d+ survived \(nodes \d+ of 150, links \d+ of \d+\); worst: /m);
    assert.match(r.stdout, /^ {4}and \d+ more \(--json lists them all\)$/m);
    assert.match(r.stdout, /^Nodes: 150 \(1 hub, \d+ pop, \d+ backend\); listed with --pairs or up to 20 nodes$/m);
    assert.match(r.stdout, /^ {2}peers per node: max \d+ \([a-z0-9-]+\), median \d+; \d+ nodes forward$/m);
    assert.match(r.stdout, /^ {2}22,350 of 22,350 pairs within|^ {2}\d+ of 22,350 pairs above x2; 22,350 of 22,350 within/m);
    assert.equal(lines.at(-1), "22350 of 22350 ordered pairs reachable");
    const all = wgmesh(["plan", "--stack", "x", "--pairs"], dir);
    assert.equal(all.code, 0, all.stderr);
    const pairLines = all.stdout.split("\n").filter((l) => /^ {2}[a-z0-9-]+ -> [a-z0-9-]+: /.test(l));
    assert.equal(pairLines.length, 150 * 149);
    const json = JSON.parse(wgmesh(["plan", "--stack", "x", "--json"], dir).stdout) as { pairs?: unknown[]; unreachable: unknown[] };
    assert.equal(json.pairs, undefined, "no pair list without --pairs");
    assert.deepEqual(json.unreachable, []);
  });
});

test("a config too big for its vault: one line naming the node, its size and the limit; nothing planned", () => {
  // A hub on Azure with 140 spokes: its wg0.conf outgrows a Key Vault secret (25 KB).
  const raw = worldMeshConfig(141, { topology: "hub", natShare: 0 }) as { nodes: Record<string, Record<string, unknown>>; hub: string };
  raw.nodes[raw.hub] = { ...raw.nodes[raw.hub], cloud: "azure", azure: { location: "northeurope" } };
  delete raw.nodes[raw.hub]?.aws;
  delete raw.nodes[raw.hub]?.gcp;
  withProject(stringify({ config: { "wg-mesh:mesh": raw } }), (dir) => {
    const r = wgmesh(["plan", "--stack", "x"], dir);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0] ?? "", new RegExp(`^nodes\\.${raw.hub}: its vault entry \\(wg0\\.conf \\d{2},\\d{3} bytes, and wg-mesh's lines\\) is \\d{2},\\d{3} bytes, above the 25,000 bytes of an Azure Key Vault secret \\(25 KB\\); use topology: auto`));
    assert.equal(lines[1], "1 problem in Pulumi.x.yaml; nothing was written");
  });
});
