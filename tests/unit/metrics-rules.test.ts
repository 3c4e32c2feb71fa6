/**
 * The alert rules in monitoring/: valid for Prometheus (promtool check rules), firing exactly when
 * they should (promtool test rules on monitoring/wgmesh.rules.test.yml), and built only from metrics
 * the sync unit really writes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { WATCHDOG_TEMPLATE_PATH } from "../../infra/render/watchdog";
import { SYNC_TEMPLATE_PATH } from "../../infra/render/sync-script";
import { promtool } from "../support/prometheus-text";

const MONITORING = join(__dirname, "..", "..", "monitoring");
const RULES = join(MONITORING, "wgmesh.rules.yml");

interface Rule {
  alert: string;
  expr: string;
  for?: string;
}

function rules(): Rule[] {
  return (parse(readFileSync(RULES, "utf8")) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
}

test("promtool: the rule file is valid and its unit tests pass", () => {
  const check = promtool(["check", "rules", RULES]);
  assert.equal(check.code, 0, check.output);
  assert.match(check.output, new RegExp(`SUCCESS: ${rules().length} rules found`));
  const unit = promtool(["test", "rules", join(MONITORING, "wgmesh.rules.test.yml")]);
  assert.equal(unit.code, 0, unit.output);
  assert.match(unit.output, /SUCCESS/);
});

test("the rule tests can fail: with 4 minutes instead of 3 they do", () => {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-rules-"));
  try {
    const text = readFileSync(RULES, "utf8");
    const changed = text.replace("wgmesh_peer_last_handshake_timestamp_seconds > 180", "wgmesh_peer_last_handshake_timestamp_seconds > 240");
    assert.notEqual(changed, text);
    writeFileSync(join(dir, "wgmesh.rules.yml"), changed);
    writeFileSync(join(dir, "wgmesh.rules.test.yml"), readFileSync(join(MONITORING, "wgmesh.rules.test.yml")));
    const r = promtool(["test", "rules", join(dir, "wgmesh.rules.test.yml")]);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /FAILED[\s\S]*WgMeshPeerNoHandshake/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the alert people want: an expected peer with no handshake for 3 minutes, counted from the config for a new peer", () => {
  const peer = rules().find((r) => r.alert === "WgMeshPeerNoHandshake");
  assert.ok(peer);
  assert.match(peer.expr, /time\(\) - wgmesh_peer_last_handshake_timestamp_seconds > 180/);
  assert.match(peer.expr, /and on \(instance, interface\)\s*\(time\(\) - wgmesh_config_applied_timestamp_seconds > 180\)/);
});

test("every metric a rule reads is one wgmesh-sync or the failover watchdog writes", () => {
  const sync = readFileSync(SYNC_TEMPLATE_PATH, "utf8");
  const watchdog = readFileSync(WATCHDOG_TEMPLATE_PATH, "utf8");
  const written = new Set([...[...sync.matchAll(/\bmetric (wgmesh_[a-z_]+) (gauge|counter)/g)].map((m) => m[1]), ...[...watchdog.matchAll(/# TYPE (wgmesh_[a-z_]+) (gauge|counter)/g)].map((m) => m[1])]);
  assert.ok(written.size >= 12, [...written].join(", "));
  for (const rule of rules()) {
    for (const name of rule.expr.match(/wgmesh_[a-z_]+/g) ?? []) assert.ok(written.has(name), `${rule.alert} reads ${name}, which neither wgmesh-sync nor wgmesh-watchdog writes`);
  }
});
