/**
 * How much a person is shown: every different problem, the same problem a few times and then one
 * line counting the rest, in the CLI (plan, lint) and in what `pulumi up` prints.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { configErrorLines } from "../../components/prove";
import { MeshConfigError } from "../../infra/model";
import { capRepeatedLines, problemKind, SAME_PROBLEM_SHOWN } from "../../infra/problem-lines";
import { runCliInProcess } from "../support/cli-in-process";

const REPO = join(__dirname, "..", "..");

test("the same check failing elsewhere is one kind; different checks, or different advice, are not", () => {
  assert.equal(problemKind('nodes.a1.address: "10.50.300.1" is not an IPv4 address'), problemKind('nodes.zz-9.address: "x" (70 characters) is not an IPv4 address'));
  assert.equal(problemKind("peers/a.conf:9: unknown key \"Colour\" in [Peer]"), problemKind("peers/a.conf:30003: unknown key \"Size\" in [Peer]"));
  assert.equal(problemKind("nodes.a.links[0]: unknown node \"b\""), problemKind("nodes.c.links[12]: unknown node \"d\""));
  assert.notEqual(problemKind("nodes.a.address: x is outside the overlay"), problemKind("nodes.a.region: x is outside the overlay"));
  assert.notEqual(problemKind("nodes.a.colour: unknown key; did you mean cloud?"), problemKind("nodes.a.rol: unknown key; did you mean role?"));
});

test("each problem is shown a few times in its order, and one line per problem counts the rest", () => {
  const lines = [
    ...Array.from({ length: 10 }, (_, i) => `nodes.n${i}.colour: unknown key; did you mean cloud?`),
    "overlay: 0.0.0.0/0 is the whole internet",
    ...Array.from({ length: 4 }, (_, i) => `nodes.n${i}.address: "10.50.300.${i}" is not an IPv4 address`),
  ];
  assert.deepEqual(capRepeatedLines(lines), [
    "nodes.n0.colour: unknown key; did you mean cloud?",
    "nodes.n1.colour: unknown key; did you mean cloud?",
    "nodes.n2.colour: unknown key; did you mean cloud?",
    "overlay: 0.0.0.0/0 is the whole internet",
    'nodes.n0.address: "10.50.300.0" is not an IPv4 address',
    'nodes.n1.address: "10.50.300.1" is not an IPv4 address',
    'nodes.n2.address: "10.50.300.2" is not an IPv4 address',
    "nodes.*.colour: 7 more like nodes.n2.colour, not listed",
    "nodes.*.address: 1 more like nodes.n2.address, not listed",
  ]);
  assert.deepEqual(capRepeatedLines(lines.slice(10, 14)), lines.slice(10, 14), "nothing to count, nothing added");
});

test("plan on thousands of invalid nodes prints every kind of problem a few times, a count per kind, and the whole count", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-volume-"));
  try {
    const doc = parse(readFileSync(join(REPO, "Pulumi.prod.yaml"), "utf8")) as { config: { "wg-mesh:mesh": { nodes: Record<string, unknown> } } };
    const nodes = doc.config["wg-mesh:mesh"].nodes;
    const n = 2000;
    for (let i = 0; i < n; i++) nodes[`n${i}`] = { role: "backend", region: "europe", address: `10.50.${300 + (i % 5)}.${i % 250}`, cloud: "aws", aws: { region: "eu-west-1" }, colour: "blue" };
    nodes.odd = { role: "backend", region: "europe", address: "10.50.3.200", cloud: "aws", aws: { region: "eu-west-9" } };
    writeFileSync(join(dir, "Pulumi.yaml"), "name: wg-mesh\nruntime: nodejs\n");
    writeFileSync(join(dir, "Pulumi.many.yaml"), stringify(doc));
    const r = await runCliInProcess(["plan", "--stack", "many"], dir);
    assert.equal(r.code, 2);
    const out = r.stderr.trimEnd().split("\n");
    assert.equal(out.filter((l) => / unknown key; did you mean cloud\?$/.test(l)).length, SAME_PROBLEM_SHOWN);
    assert.equal(out.filter((l) => /\.address: .* is not an IPv4 address/.test(l)).length, SAME_PROBLEM_SHOWN);
    assert.ok(out.some((l) => l.startsWith("nodes.odd.aws.region: unknown AWS region")), "a problem seen once is never hidden among the repeats");
    assert.ok(out.includes(`nodes.*.colour: ${(n - SAME_PROBLEM_SHOWN).toLocaleString("en-US")} more like nodes.n2.colour, not listed`), r.stderr);
    assert.equal(out.at(-1), `${2 * n + 1} problems in Pulumi.many.yaml; nothing was written`);
    assert.ok(r.stderr.length < 1500, `${r.stderr.length} bytes`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("lint on 5,000 [Peer] sections with unknown keys prints a few of each and counts the rest", async () => {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-volume-lint-"));
  try {
    const key = () => randomBytes(32).toString("base64");
    const lines = ["[Interface]", `PrivateKey = ${key()}`, "Address = 10.9.0.1/16", "ListenPort = 51820", ""];
    for (let i = 0; i < 5000; i++) lines.push("[Peer]", `PublicKey = ${key()}`, `AllowedIPs = 10.9.${Math.floor(i / 250)}.${(i % 250) + 1}/32`, `Colour = blue${i}`, "");
    mkdirSync(join(dir, "confs"));
    writeFileSync(join(dir, "confs", "a.conf"), lines.join("\n"));
    const r = await runCliInProcess(["lint", "confs"], dir);
    const unknown = r.stdout.split("\n").filter((l) => /unknown key "Colour" in \[Peer\]/.test(l));
    assert.equal(unknown.length, SAME_PROBLEM_SHOWN, r.stdout.slice(0, 2000));
    assert.match(r.stdout, /^confs\/a\.conf: 4,997 more like confs\/a\.conf:\d+, not listed$/m);
    assert.ok(r.stdout.length < 2000, `${r.stdout.length} bytes`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("what pulumi up prints for a bad declaration counts repeats the same way", () => {
  const issues = Array.from({ length: 500 }, (_, i) => ({ path: `nodes.n${i}.site`, message: `unknown site "x${i}"; declare it under latency.sites with its lat and lon` }));
  const text = configErrorLines(new MeshConfigError(issues), "the declaration of Mesh mesh");
  const lines = text.split("\n");
  assert.equal(lines.length, SAME_PROBLEM_SHOWN + 2, text);
  assert.equal(lines.at(-2), "nodes.*.site: 497 more like nodes.n2.site, not listed");
  assert.equal(lines.at(-1), "500 problems in the declaration of Mesh mesh; nothing was deployed");
});
