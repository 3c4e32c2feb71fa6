/**
 * The rotation time a config carries, as TypeScript writes it and as the sync unit's bash reads it,
 * and `wgmesh plan --rotation`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { planMesh } from "../../infra/plan";
import { renderAgentSyncScript, renderBootstrap } from "../../infra/render/sync-script";
import { fileVault } from "../../infra/vault";
import { explainRotation, formatSeconds, notBeforeOf, rotationComment, rotationOf } from "../../infra/rotation";
import { formatWgQuick } from "../../infra/wgquick";
import { seedSpec } from "../support/seed-spec";

const REPO = resolve(__dirname, "..", "..");

test("the comment: written, read back, and refused when it would not parse", () => {
  const r = { keyEpoch: 3, notBefore: "2025-06-01T12:02:00Z" };
  assert.equal(rotationComment(r), "wg-mesh key epoch 3, not before 2025-06-01T12:02:00Z");
  const text = formatWgQuick({ iface: { addresses: ["10.0.0.1/24"], postUp: [], postDown: [], preUp: [], preDown: [], other: new Map() }, peers: [] }, { header: ["node a", rotationComment(r)] });
  assert.deepEqual(rotationOf(text), r);
  assert.equal(rotationOf(text.replace("epoch 3,", "epoch three,")), undefined);
  assert.throws(() => rotationComment({ keyEpoch: 0, notBefore: r.notBefore }), /keyEpoch 0/);
  assert.throws(() => rotationComment({ keyEpoch: 1, notBefore: "2025-06-01T12:02:00.5Z" }), /whole seconds/);
  assert.throws(() => rotationComment({ keyEpoch: 1, notBefore: "2025-06-01 12:02" }), /RFC 3339/);
});

test("not before: the time plus the margin, rounded up to the second", () => {
  assert.equal(notBeforeOf("2025-06-01T12:00:00Z", 120), "2025-06-01T12:02:00Z");
  assert.equal(notBeforeOf("2025-06-01T12:00:00.200Z", 120), "2025-06-01T12:02:01Z");
  assert.equal(notBeforeOf(new Date(Date.UTC(2025, 11, 31, 23, 59, 30)), 45), "2026-01-01T00:00:15Z");
  assert.throws(() => notBeforeOf("yesterday", 1), /not a time/);
  assert.throws(() => notBeforeOf("2025-06-01T12:00:00Z", -1), /whole number of seconds/);
  assert.equal(formatSeconds(120), "2 min");
  assert.equal(formatSeconds(90), "90 s");
  assert.equal(formatSeconds(3725), "1 h 2 min 5 s");
});

test("wgmesh-sync reads the comment as TypeScript writes it: epoch, time, and milliseconds to go", () => {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-rotation-"));
  try {
    const bootstrap = join(dir, "bootstrap");
    writeFileSync(bootstrap, renderBootstrap({ node: "n", vault: fileVault(join(dir, "vault.conf")) }), { mode: 0o700 });
    const script = join(dir, "wgmesh-sync");
    writeFileSync(script, renderAgentSyncScript("0.0.1"), { mode: 0o700 });
    const soon = notBeforeOf(new Date(Date.now() + 60_000), 0);
    const conf = join(dir, "wg0.conf");
    writeFileSync(conf, formatWgQuick({ iface: { addresses: ["10.0.0.1/24"], postUp: [], postDown: [], preUp: [], preDown: [], other: new Map() }, peers: [] }, { header: ["a node", rotationComment({ keyEpoch: 7, notBefore: soon })] }));
    // Read as a library, the script defines its functions and runs nothing.
    const r = spawnSync("bash", ["-c", 'source "$1"; rotation_of "$2"; due_in_ms "$2"; echo "[$(rotation_of /nonexistent)]"', "bash", script, conf], {
      encoding: "utf8",
      env: { ...process.env, WGMESH_CONF_DIR: dir, WGMESH_SYNC: bootstrap },
    });
    assert.equal(r.status, 0, r.stderr);
    const [rotation, ms, none] = r.stdout.trim().split("\n");
    assert.equal(rotation, `7 ${soon}`);
    assert.ok(Number(ms) > 55_000 && Number(ms) <= 61_000, `${ms} ms to go`);
    assert.equal(none, "[]");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("plan --rotation: the steps and their times, what needs a person (external nodes, peer stacks), the margin", () => {
  const spec = seedSpec({ keyEpoch: 4, rotationMargin: 300, presharedKeys: true, peerStacks: ["acme/wg-mesh/eu"] });
  spec.nodes.push({ name: "office", role: "backend", region: "europe", site: "office", address: "10.50.3.9", cloud: "external", links: [], external: {} });
  const text = explainRotation("prod", planMesh(spec)).join("\n");
  assert.match(text, /^Key rotation of stack prod: keyEpoch 4 -> 5$/m);
  assert.match(text, /set keyEpoch: 5 under wg-mesh:mesh in Pulumi\.prod\.yaml/);
  assert.match(text, /switches to its new keys at T \+ 5 min \(rotationMargin 300 s\)/);
  assert.match(text, /13 new private keys and \d+ new preshared keys; 12 vault secrets rewritten/);
  assert.match(text, /"# wg-mesh key epoch 5, not before <T \+ 5 min>"/);
  assert.match(text, /external node office: install the new wg0\.conf at T \+ 5 min/);
  assert.match(text, /peer stacks acme\/wg-mesh\/eu: run pulumi up in each before T \+ 5 min/);
  assert.match(text, /wgmesh_config_key_epoch == 5/);
});

test("wgmesh plan --stack staging --rotation prints the explanation; with --json it refuses in one line", () => {
  const bin = join(REPO, "cli", "bin.js");
  const ok = spawnSync(process.execPath, [bin, "plan", "--stack", "staging", "--rotation"], { cwd: REPO, encoding: "utf8" });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^Key rotation of stack staging: keyEpoch 1 -> 2\n/);
  assert.match(ok.stdout, /each of the 6 links makes one new handshake/);
  const bad = spawnSync(process.execPath, [bin, "plan", "--stack", "staging", "--rotation", "--json"], { cwd: REPO, encoding: "utf8" });
  assert.notEqual(bad.status, 0);
  assert.equal(bad.stderr, "wgmesh: --rotation chooses what is printed, as --mermaid and --json do; use one\n");
  assert.equal(bad.stdout, "");
});
