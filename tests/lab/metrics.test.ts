/**
 * The Prometheus textfile every wgmesh-sync run writes, from real runs on real WireGuard in the lab:
 * promtool's linter passes it, a real parser reads it, and the figures are the interface's (per peer
 * handshake and transfer, the applied config's sha256, key epoch and apply time, the run's result)
 * after a healthy run, a failed one, a held rotation and a down interface. Needs root; skipped loudly
 * without it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { AGENT_VERSION } from "../../infra/render/agent";
import { notBeforeOf, rotationComment } from "../../infra/rotation";
import { run } from "../../lab/exec";
import { Lab } from "../../lab/lab";
import { labBlocker } from "../../lab/preflight";
import { sampleMesh } from "../../lab/sample-mesh";
import { nodeRecord, readState } from "../../lab/state";
import { syncFilesOf, type SyncFiles } from "../../lab/sync-files";
import { leftoversOfLab } from "../../lab/teardown";
import { parsePrometheusText, promtool, type PromFamily } from "../support/prometheus-text";

const blocker = labBlocker();
if (blocker) process.stderr.write(`\n*** SKIPPING the sync unit metrics lab test: ${blocker} ***\n\n`);

const TYPES: Record<string, string> = {
  wgmesh_sync_last_run_timestamp_seconds: "GAUGE",
  wgmesh_sync_success: "GAUGE",
  wgmesh_sync_period_seconds: "GAUGE",
  wgmesh_vault_entry_refused: "GAUGE",
  wgmesh_agent_info: "GAUGE",
  wgmesh_agent_expected_info: "GAUGE",
  wgmesh_agent_problem: "GAUGE",
  wgmesh_agent_behind_since_timestamp_seconds: "GAUGE",
  wgmesh_interface_up: "GAUGE",
  wgmesh_config_info: "GAUGE",
  wgmesh_config_applied_timestamp_seconds: "GAUGE",
  wgmesh_config_key_epoch: "GAUGE",
  wgmesh_config_held_until_timestamp_seconds: "GAUGE",
  wgmesh_peer_last_handshake_timestamp_seconds: "GAUGE",
  wgmesh_peer_last_handshake_seconds: "GAUGE",
  wgmesh_peer_receive_bytes_total: "COUNTER",
  wgmesh_peer_transmit_bytes_total: "COUNTER",
};

/** The file, checked by promtool and parsed; every family one the sync unit documents. */
function readMetrics(files: SyncFiles): Map<string, PromFamily> {
  const text = readFileSync(files.metrics, "utf8");
  const lint = promtool(["check", "metrics"], text);
  assert.equal(lint.code, 0, `promtool check metrics:\n${lint.output}\n${text}`);
  assert.equal(lint.output, "", "promtool has no remarks");
  const families = new Map(parsePrometheusText(text).map((f) => [f.name, f]));
  for (const f of families.values()) {
    assert.equal(f.type, TYPES[f.name], `${f.name} is a known metric of the right type`);
    assert.ok(f.help.length > 10, `${f.name} says what it is`);
  }
  return families;
}

function value(families: Map<string, PromFamily>, name: string, peer?: string): number {
  const f = families.get(name);
  assert.ok(f, `${name} is written`);
  const sample = f.metrics.find((m) => peer === undefined || m.labels?.peer === peer);
  assert.ok(sample, `${name}${peer ? ` for ${peer}` : ""}`);
  return Number(sample.value);
}

test("the sync unit's textfile: valid for promtool and a real parser, with the interface's own figures", { skip: blocker ? `lab cannot run here: ${blocker}` : false, timeout: 180_000 }, async () => {
  const mesh = sampleMesh({ hub: "hub", spokes: ["a", "b"] });
  const lab = await Lab.up(mesh.configs, {});
  try {
    const m = await lab.pingMatrix();
    assert.equal(m.reachable, m.total);
    const state = readState(lab.id);
    assert.ok(state);
    const files = syncFilesOf(state.workDir, nodeRecord(state, "hub")?.iface as string);
    const iface = nodeRecord(state, "hub")?.iface as string;
    const started = Math.floor(Date.now() / 1000);
    assert.equal((await lab.sync("hub")).code, 0);

    // A healthy run: every peer of the config, with the interface's handshakes and bytes.
    let f = readMetrics(files);
    for (const fam of f.values()) for (const s of fam.metrics) assert.equal(s.labels?.interface, iface, `${fam.name} names the interface`);
    assert.equal(value(f, "wgmesh_sync_success"), 1);
    assert.equal(value(f, "wgmesh_interface_up"), 1);
    assert.ok(value(f, "wgmesh_sync_last_run_timestamp_seconds") >= started);
    const installed = readFileSync(files.installed);
    assert.equal(f.get("wgmesh_config_info")?.metrics[0]?.labels?.sha256, createHash("sha256").update(installed).digest("hex"));
    assert.equal(value(f, "wgmesh_config_applied_timestamp_seconds"), Math.floor(statSync(files.installed).mtimeMs / 1000));
    const handshakes = (await run("ip", ["netns", "exec", nodeRecord(state, "hub")?.namespace as string, "wg", "show", iface, "latest-handshakes"])).stdout;
    const transfer = (await run("ip", ["netns", "exec", nodeRecord(state, "hub")?.namespace as string, "wg", "show", iface, "transfer"])).stdout;
    for (const peer of ["a", "b"]) {
      const key = mesh.keys[peer]?.publicKey as string;
      const at = Number(new RegExp(`^${key.replace(/[+/]/g, "\\$&")}\\t(\\d+)$`, "m").exec(handshakes)?.[1]);
      assert.ok(at > 0, `${peer} has handshaken`);
      assert.equal(value(f, "wgmesh_peer_last_handshake_timestamp_seconds", peer), at);
      const age = value(f, "wgmesh_peer_last_handshake_seconds", peer);
      assert.ok(age >= 0 && age <= Math.floor(Date.now() / 1000) - at, `${peer}: ${age} s`);
      const [rx, tx] = (new RegExp(`^${key.replace(/[+/]/g, "\\$&")}\\t(\\d+)\\t(\\d+)$`, "m").exec(transfer) ?? []).slice(1).map(Number);
      // The pings of the matrix crossed each link both ways; the counters only grow since the run.
      assert.ok(value(f, "wgmesh_peer_receive_bytes_total", peer) > 0 && value(f, "wgmesh_peer_receive_bytes_total", peer) <= (rx as number));
      assert.ok(value(f, "wgmesh_peer_transmit_bytes_total", peer) > 0 && value(f, "wgmesh_peer_transmit_bytes_total", peer) <= (tx as number));
    }
    assert.deepEqual(f.get("wgmesh_peer_receive_bytes_total")?.metrics.map((s) => s.labels?.peer).sort(), ["a", "b"]);
    assert.equal(f.get("wgmesh_config_key_epoch"), undefined, "no key epoch in a config without one");
    // The agent it runs, the one its config names, and nothing wrong with either.
    assert.equal(f.get("wgmesh_agent_info")?.metrics[0]?.labels?.version, AGENT_VERSION);
    assert.equal(f.get("wgmesh_agent_expected_info")?.metrics[0]?.labels?.version, AGENT_VERSION);
    assert.equal(value(f, "wgmesh_agent_problem"), 0);
    assert.equal(f.get("wgmesh_agent_behind_since_timestamp_seconds"), undefined);
    assert.equal(value(f, "wgmesh_vault_entry_refused"), 0);
    assert.equal(value(f, "wgmesh_sync_period_seconds"), 60);

    // A refused run: the vault holds no entry wg-mesh wrote.
    const good = readFileSync(files.installed, "utf8");
    const entry = readFileSync(files.vault, "utf8");
    writeFileSync(files.vault, "[Interface]\nAddress = nonsense\n", { mode: 0o600 });
    assert.notEqual((await lab.sync("hub")).code, 0);
    f = readMetrics(files);
    assert.equal(value(f, "wgmesh_sync_success"), 0);
    assert.equal(value(f, "wgmesh_vault_entry_refused"), 1);
    assert.equal(f.get("wgmesh_config_info")?.metrics[0]?.labels?.sha256, createHash("sha256").update(installed).digest("hex"), "still the applied config");
    // A failed run: a whole entry whose wg0.conf wg-quick would refuse.
    writeFileSync(files.vault, lab.vaultEntry("hub", "[Interface]\nAddress = nonsense\n"), { mode: 0o600 });
    assert.notEqual((await lab.sync("hub")).code, 0);
    f = readMetrics(files);
    assert.equal(value(f, "wgmesh_sync_success"), 0);
    assert.equal(value(f, "wgmesh_vault_entry_refused"), 0);
    writeFileSync(files.vault, entry, { mode: 0o600 });

    // A new key epoch fetched well before its time: held, which is a success, with its time.
    const due = notBeforeOf(new Date(), 3600);
    writeFileSync(files.vault, lab.vaultEntry("hub", `# ${rotationComment({ keyEpoch: 7, notBefore: due })}\n${good}`), { mode: 0o600 });
    const held = await lab.sync("hub");
    assert.equal(held.code, 0);
    assert.match(held.log.at(-1) ?? "", new RegExp(`holding the new config \\(key epoch 7\\) until ${due}; a later run applies it`));
    f = readMetrics(files);
    assert.equal(value(f, "wgmesh_sync_success"), 1);
    assert.equal(value(f, "wgmesh_config_held_until_timestamp_seconds"), Date.parse(due) / 1000);

    // Once due, it is applied at once, and its epoch is the applied one.
    const past = notBeforeOf(new Date(Date.now() - 5000), 0);
    writeFileSync(files.vault, lab.vaultEntry("hub", `# ${rotationComment({ keyEpoch: 7, notBefore: past })}\n${good}`), { mode: 0o600 });
    assert.equal((await lab.sync("hub")).code, 0);
    f = readMetrics(files);
    assert.equal(value(f, "wgmesh_config_key_epoch"), 7);
    assert.equal(f.get("wgmesh_config_info")?.metrics[0]?.labels?.key_epoch, "7");
    assert.equal(f.get("wgmesh_config_held_until_timestamp_seconds"), undefined);

    // The interface gone: no peer figures, and it says so.
    await lab.stopNode("hub");
    writeFileSync(files.vault, "", { mode: 0o600 });
    assert.notEqual((await lab.sync("hub")).code, 0);
    f = readMetrics(files);
    assert.equal(value(f, "wgmesh_interface_up"), 0);
    assert.equal(value(f, "wgmesh_sync_success"), 0);
    assert.equal(f.get("wgmesh_peer_last_handshake_timestamp_seconds"), undefined);
  } finally {
    lab.down();
  }
  assert.deepEqual(leftoversOfLab(lab.id), [], `lab ${lab.id} left things behind`);
});
