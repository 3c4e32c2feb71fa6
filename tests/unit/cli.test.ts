/**
 * `wgmesh plan` and `wgmesh render` as a user runs them (`cli/bin.js` in a child process):
 * output, exit codes, files written, and bad input as one line per problem with nothing written.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { isWireGuardKey, publicKeyFromPrivate } from "../../infra/keys";
import { parseWgQuick } from "../../infra/wgquick";
import { OUTPUT_MARKER } from "../../workspace/output";

const REPO = resolve(__dirname, "..", "..");
const BIN = join(REPO, "cli", "bin.js");

function wgmesh(args: string[], cwd = REPO): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempProject(stackYaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-cli-"));
  writeFileSync(join(dir, "Pulumi.yaml"), "name: wg-mesh\nruntime: nodejs\n");
  writeFileSync(join(dir, "Pulumi.bad.yaml"), stackYaml);
  return dir;
}

const BROKEN = `config:
  wg-mesh:mesh:
    overlay: 10.50.0.0/16
    topology: regional
    hub: ireland
    listenPort: 70000
    regions:
      central: { subnet: 10.50.0.0/24 }
      apac-pop: { subnet: 10.50.5.0/24 }
    nodes:
      ireland: { role: hub, region: central, site: dub, address: 10.50.0.1, cloud: aws, aws: { region: eu-west-1 } }
      hkg: { role: pop, region: apac-pop, site: hkg, address: 10.50.9.1, cloud: gcp, gcp: { project: edgeproxy-prod, zone: asia-east2-a } }
`;

test("plan --stack prod: every node's peers, every pair's path, 132 of 132, exit 0", () => {
  const r = wgmesh(["plan", "--stack", "prod"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Stack prod: 12 nodes, topology regional/);
  assert.match(r.stdout, /^ {2}hkg -> nrt: hkg -> nrt \(direct\) {2}53 ms, direct 53 ms, x1\.00$/m);
  assert.match(r.stdout, /^ {2}hkg -> gru: hkg -> ireland -> gru {2}368 ms, direct 320 ms, x1\.15$/m);
  assert.match(r.stdout, /^ {4}ireland +AllowedIPs = 10\.50\.0\.0\/16$/m);
  assert.equal(r.stdout.trimEnd().split("\n").at(-1), "132 of 132 ordered pairs reachable");
});

test("plan --json: one document with nodes, peers, paths and the count", () => {
  const r = wgmesh(["plan", "--stack", "staging", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { nodes: { name: string; peers: { name: string; allowedIps: string[] }[] }[]; pairs: { from: string; to: string; path: string[] }[]; reachable: number; total: number };
  const n = doc.nodes.length;
  assert.equal(doc.total, n * (n - 1));
  assert.equal(doc.reachable, doc.total);
  assert.equal(doc.pairs.length, doc.total);
  for (const node of doc.nodes) for (const peer of node.peers) assert.ok(peer.allowedIps.length > 0, `${node.name} -> ${peer.name}`);
  assert.deepEqual(doc.pairs.find((p) => p.from === "nrt" && p.to === "sin")?.path, ["nrt", "hkg", "sin"]);
});

test("a config with problems: one `path: message` line each, a count naming the file, exit 2, no stack trace", () => {
  const dir = tempProject(BROKEN);
  try {
    const r = wgmesh(["plan", "--stack", "bad"], dir);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.deepEqual(r.stderr.trimEnd().split("\n"), [
      "listenPort: must be at most 65535 (a UDP port)",
      "nodes.hkg.address: 10.50.9.1 is outside region apac-pop (10.50.5.0/24)",
      "2 problems in Pulumi.bad.yaml; nothing was written",
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("render with a bad config leaves an existing output folder as it was", () => {
  const dir = tempProject(BROKEN);
  const out = join(dir, "out");
  mkdirSync(out);
  writeFileSync(join(out, "keep.txt"), "mine");
  try {
    const r = wgmesh(["render", "--stack", "bad", "--out", out], dir);
    assert.equal(r.code, 2);
    assert.deepEqual(readdirSync(out), ["keep.txt"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an unknown stack names the stacks that exist, in one line", () => {
  const r = wgmesh(["plan", "--stack", "qa"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^wgmesh: --stack qa: no Pulumi\.qa\.yaml in .*; stacks here: .*prod.*staging/);
  assert.equal(r.stderr.trim().split("\n").length, 1);
});

test("outside any project: one line saying no Pulumi.yaml was found here or above, for every command that reads a stack", () => {
  const outside = mkdtempSync(join(tmpdir(), "wgmesh-outside-"));
  try {
    for (const args of [["plan", "--stack", "prod"], ["synth", "--stack", "prod"], ["diff", "--stack", "prod"], ["render", "--stack", "prod", "--out", join(outside, "out")]]) {
      const r = wgmesh(args, outside);
      assert.notEqual(r.code, 0, args.join(" "));
      assert.equal(r.stderr, "wgmesh: --stack prod: no Pulumi.yaml found in this folder or above; run wgmesh inside the project (the folder holding Pulumi.yaml and its Pulumi.<stack>.yaml files)\n", args.join(" "));
      assert.equal(r.stdout, "");
    }
    assert.deepEqual(readdirSync(outside), [], "nothing written");
    // Inside a project whose stack file is missing, the stack file is what is named.
    writeFileSync(join(outside, "Pulumi.yaml"), "name: wg-mesh\nruntime: nodejs\n");
    assert.match(wgmesh(["plan", "--stack", "prod"], outside).stderr, /^wgmesh: --stack prod: no Pulumi\.prod\.yaml in /);
  } finally {
    rmSync(outside, { recursive: true, force: true });
  }
});

test("render: wg0.conf and cloud-init.yaml per node; placeholders by default, real keys (mode 600) with --ephemeral-keys", () => {
  const out = mkdtempSync(join(tmpdir(), "wgmesh-render-"));
  try {
    const plain = wgmesh(["render", "--stack", "staging", "--out", join(out, "a")]);
    assert.equal(plain.code, 0, plain.stderr);
    const nodes = readdirSync(join(out, "a")).filter((n) => n !== OUTPUT_MARKER).sort();
    assert.deepEqual(nodes, ["dub", "fra", "hkg", "nrt", "sin"]);
    for (const n of nodes) {
      assert.ok(existsSync(join(out, "a", n, "cloud-init.yaml")), `${n}/cloud-init.yaml`);
      const cfg = parseWgQuick(readFileSync(join(out, "a", n, "wg0.conf"), "utf8"), n);
      assert.match(cfg.iface.privateKey ?? "", /^<.*private-key/);
    }
    const real = wgmesh(["render", "--stack", "staging", "--out", join(out, "b"), "--ephemeral-keys"]);
    assert.equal(real.code, 0, real.stderr);
    const keys = new Map<string, string>();
    for (const n of nodes) {
      const file = join(out, "b", n, "wg0.conf");
      assert.equal(statSync(file).mode & 0o777, 0o600, `${n}/wg0.conf is private`);
      const cfg = parseWgQuick(readFileSync(file, "utf8"), n);
      assert.ok(isWireGuardKey(cfg.iface.privateKey ?? ""));
      keys.set(publicKeyFromPrivate(cfg.iface.privateKey as string), n);
    }
    // Every peer a node lists is another node's real public key.
    for (const n of nodes) {
      const cfg = parseWgQuick(readFileSync(join(out, "b", n, "wg0.conf"), "utf8"), n);
      for (const p of cfg.peers) assert.ok(keys.has(p.publicKey) && keys.get(p.publicKey) !== n, `${n} lists ${p.publicKey}`);
    }
    // The user data never carries a key.
    for (const n of nodes) {
      const ci = readFileSync(join(out, "b", n, "cloud-init.yaml"), "utf8");
      for (const k of keys.keys()) assert.ok(!ci.includes(k));
      const priv = parseWgQuick(readFileSync(join(out, "b", n, "wg0.conf"), "utf8"), n).iface.privateKey as string;
      for (const m of nodes) assert.ok(!readFileSync(join(out, "b", m, "cloud-init.yaml"), "utf8").includes(priv), `${m}/cloud-init.yaml holds ${n}'s key`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("`npx wgmesh`, as the README has people run it, is the same CLI", () => {
  const r = spawnSync("npx", ["--no-install", "wgmesh", "plan", "--stack", "staging"], { cwd: REPO, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /ordered pairs reachable\n$/);
});

test("conventions: `wgmesh --version` prints the package's version; `wgmesh` alone prints the help and exits 0", () => {
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string };
  for (const flag of ["--version", "-V"]) {
    const v = wgmesh([flag]);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, `${pkg.version}\n`);
  }
  const help = wgmesh([]);
  assert.equal(help.code, 0, help.stderr);
  assert.equal(help.stderr, "");
  assert.match(help.stdout, /^Usage: wgmesh \[options\] \[command\]/);
  for (const command of ["plan", "render", "lint", "lab", "synth"]) assert.match(help.stdout, new RegExp(`^  ${command} `, "m"));
});

test("a warning (admin CIDRs of half the internet) is printed on stderr with the file and path, and the plan still succeeds", () => {
  const half = readFileSync(join(REPO, "Pulumi.staging.yaml"), "utf8").replace(/adminCidrs:\n\s+- 10\.255\.0\.0\/24/, "adminCidrs: [0.0.0.0/1]");
  assert.ok(half.includes("adminCidrs: [0.0.0.0/1]"));
  const staging = half.replace("adminCidrs: [0.0.0.0/1]", "adminCidrs: [0.0.0.0/1]\n    widestAdminCidr: 1");
  const dir = tempProject(staging);
  try {
    const r = wgmesh(["plan", "--stack", "bad"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "warning: Pulumi.bad.yaml: adminCidrs: admit 2,147,483,648 addresses (50% of IPv4) to SSH; list only your office or VPN ranges\n");
    assert.match(r.stdout, /20 of 20 ordered pairs reachable\n$/);
    // Without widestAdminCidr saying so, so wide a range is refused.
    const refused = wgmesh(["plan", "--stack", "bad"], tempProjectIn(dir, half));
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /^adminCidrs\[0\]: 0\.0\.0\.0\/1 opens SSH \(port 22 on every node\) to 2,147,483,648 addresses, 50% of IPv4;/);
    const whole = wgmesh(["plan", "--stack", "bad"], tempProjectIn(dir, staging.replace("adminCidrs: [0.0.0.0/1]", "adminCidrs: [0.0.0.0/1, 128.0.0.0/1]")));
    assert.equal(whole.code, 2);
    assert.match(whole.stderr, /^adminCidrs: together they cover the whole internet \(0\.0\.0\.0\/1 \+ 128\.0\.0\.0\/1\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function tempProjectIn(dir: string, stackYaml: string): string {
  writeFileSync(join(dir, "Pulumi.bad.yaml"), stackYaml);
  return dir;
}
