/**
 * The access policy's alert rules (monitoring/wgmesh-access.rules.yml): valid for Prometheus, firing
 * exactly when they should (promtool test rules), able to fail, and built only from metrics that
 * wgmesh-firewall really writes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { promtool } from "../support/prometheus-text";

const MONITORING = join(__dirname, "..", "..", "monitoring");
const RULES = join(MONITORING, "wgmesh-access.rules.yml");
const SCRIPT = join(__dirname, "..", "..", "infra", "render", "wgmesh-firewall.sh");

test("promtool: the access rules are valid and their unit tests pass", () => {
  const check = promtool(["check", "rules", RULES]);
  assert.equal(check.code, 0, check.output);
  assert.match(check.output, /SUCCESS: 2 rules found/);
  const unit = promtool(["test", "rules", join(MONITORING, "wgmesh-access.rules.test.yml")]);
  assert.equal(unit.code, 0, unit.output);
});

test("the access rule tests can fail: with 5 minutes instead of 10 they do", () => {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-access-rules-"));
  try {
    const text = readFileSync(RULES, "utf8");
    const changed = text.replace("for: 10m", "for: 5m");
    assert.notEqual(changed, text);
    writeFileSync(join(dir, "wgmesh-access.rules.yml"), changed);
    writeFileSync(join(dir, "wgmesh-access.rules.test.yml"), readFileSync(join(MONITORING, "wgmesh-access.rules.test.yml")));
    const r = promtool(["test", "rules", join(dir, "wgmesh-access.rules.test.yml")]);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /FAILED[\s\S]*WgMeshAccessRulesetChanged/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("every metric an access rule reads is one wgmesh-firewall writes", () => {
  const script = readFileSync(SCRIPT, "utf8");
  const written = new Set([...script.matchAll(/# TYPE (wgmesh_access_[a-z_]+) (gauge|counter)/g)].map((m) => m[1]));
  assert.ok(written.size >= 6, [...written].join(", "));
  const rules = (parse(readFileSync(RULES, "utf8")) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
  for (const rule of rules) for (const name of rule.expr.match(/wgmesh_[a-z_]+/g) ?? []) assert.ok(written.has(name), `${rule.alert} reads ${name}, which wgmesh-firewall does not write`);
});
