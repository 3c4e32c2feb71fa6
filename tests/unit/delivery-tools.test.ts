/**
 * The user data every prod and staging node boots with (the bootstrap), checked by the real tools
 * rather than by our reading of them: Debian's `cloud-init schema` on each document, cloud-init's own
 * write_files module writing each document's files, and `systemd-analyze verify` on the service and
 * timer it wrote. scripts/setup.sh installs cloud-init and
 * systemd; a missing tool fails these tests instead of skipping them, since CI must run them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { renderCloudInit, SERVICE_PATH, serviceUnit, TIMER_PATH, timerUnit } from "../../infra/render/cloudinit";
import { SYNC_SCRIPT_PATH } from "../../infra/render/sync-script";
import { AGENT_VERSION, agentFiles } from "../../infra/render/agent";
import { shippedBootstrap } from "../../infra/render/cloudinit";
import { vaultLocatorFor, type VaultLocator } from "../../infra/vault";
import { findOnPath } from "../../lab/preflight";
import { runStackFile, userDataByNode } from "../support/pulumi";

const PYTHON = "/usr/bin/python3";

function tool(name: string): string {
  const found = findOnPath(name);
  if (!found) assert.fail(`${name} not found: install it (bash scripts/setup.sh does)`);
  return found;
}

interface Document {
  label: string;
  text: string;
}

let documents: Promise<Document[]> | undefined;
/** What the stack program gives each VM of prod and staging, and a node with the longest names there are. */
function allDocuments(): Promise<Document[]> {
  documents ??= (async () => {
    const out: Document[] = [];
    for (const stack of ["prod", "staging"]) {
      const run = await runStackFile(stack);
      for (const [node, text] of Object.entries(userDataByNode(run))) out.push({ label: `${stack}/${node}`, text });
    }
    const project = `p${"r".repeat(98)}j`;
    const stack = `s${"t".repeat(98)}k`;
    out.push({
      label: "longest names",
      text: renderCloudInit({ node: "a23456789012345678901234", vault: vaultLocatorFor({ name: "a23456789012345678901234", cloud: "aws", aws: { region: "ap-southeast-4" } }, project, stack) as VaultLocator }),
    });
    return out;
  })();
  return documents;
}

function run(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: "utf8" }, (err, stdout, stderr) => resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

async function inBatches<T>(jobs: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < jobs.length; i += width) out.push(...(await Promise.all(jobs.slice(i, i + width).map((j) => j()))));
  return out;
}

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-delivery-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("cloud-init schema: every prod and staging node's user data is valid cloud-config, and the check can fail", async (t) => {
  const cloudInit = tool("cloud-init");
  const dir = scratch(t);
  const docs = await allDocuments();
  assert.equal(docs.length, 12 + 5 + 1);
  // Each run of cloud-init starts a Python: a few at a time.
  const results = await inBatches(docs.map((doc, i) => async () => {
    const file = join(dir, `${i}.yaml`);
    writeFileSync(file, doc.text);
    return { doc, ...(await run(cloudInit, ["schema", "--config-file", file])) };
  }), 4);
  for (const r of results) {
    assert.equal(r.status, 0, `${r.doc.label}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^Valid cloud-config: /, r.doc.label);
  }
  const broken = join(dir, "broken.yaml");
  writeFileSync(broken, (docs[0] as Document).text.replace("\n- path: ", "\n- encoding: gz+b65\n  path: "));
  const r = spawnSync(cloudInit, ["schema", "--config-file", broken], { encoding: "utf8" });
  assert.notEqual(r.status, 0, "a wrong encoding is an error");
  assert.match(r.stderr, /write_files\.0\.encoding: 'gz\+b65' is not one of/);
});

/** Runs cloud-init's own write_files module on each document, every path moved under `root/<i>`. */
const WRITE_FILES = `
import json, sys
from cloudinit import util
from cloudinit.config.cc_write_files import write_files
for job in json.load(sys.stdin):
    files = util.load_yaml(job["text"])["write_files"]
    for f in files:
        f["path"] = job["root"] + f["path"]
    write_files("write_files", files, "root:root")
`;

test("cloud-init's write_files writes the bootstrap, service and timer exactly, with their modes; systemd-analyze verify passes both units", async (t) => {
  const analyze = tool("systemd-analyze");
  assert.ok(existsSync(PYTHON), `${PYTHON}: install python3 (and cloud-init) from Debian`);
  const dir = scratch(t);
  const docs = await allDocuments();
  const jobs = docs.map((d, i) => ({ root: join(dir, String(i)), text: d.text }));
  const w = spawnSync(PYTHON, ["-c", WRITE_FILES], { input: JSON.stringify(jobs), encoding: "utf8" });
  assert.equal(w.status, 0, w.stderr);

  // The units refer to targets systemd ships: give each root the host's unit directory.
  const systemUnits = ["/usr/lib/systemd/system", "/lib/systemd/system"].find((d) => existsSync(join(d, "sysinit.target")));
  assert.ok(systemUnits, "systemd's own units (install systemd)");
  for (const [i, doc] of docs.entries()) {
    const root = (jobs[i] as { root: string }).root;
    const script = join(root, SYNC_SCRIPT_PATH);
    const decoded = readFileSync(script, "utf8");
    assert.match(decoded, /^#!\/bin\/bash\n/, doc.label);
    assert.equal(statSync(script).mode & 0o777, 0o755, `${doc.label}: the script is executable`);
    assert.equal(readFileSync(join(root, SERVICE_PATH), "utf8"), serviceUnit("wg0"), doc.label);
    assert.equal(readFileSync(join(root, TIMER_PATH), "utf8"), timerUnit("wg0"), doc.label);
    for (const unit of [SERVICE_PATH, TIMER_PATH]) assert.equal(statSync(join(root, unit)).mode & 0o777, 0o644, `${doc.label}: ${unit}`);
    // The same bootstrap a VM gets for its vault: compare with one rendered here for the longest-names node.
    if (doc.label === "longest names") {
      const vault = vaultLocatorFor({ name: "a23456789012345678901234", cloud: "aws", aws: { region: "ap-southeast-4" } }, `p${"r".repeat(98)}j`, `s${"t".repeat(98)}k`) as VaultLocator;
      assert.equal(decoded, shippedBootstrap({ node: "a23456789012345678901234", vault }));
    }
  }
  // Every node wrote the same units (asserted above): systemd-analyze reads them as the first node wrote them.
  const verified = (jobs[0] as { root: string }).root;
  cpSync(systemUnits, join(verified, "usr/lib/systemd/system"), { recursive: true });
  const v = spawnSync(analyze, ["verify", "--man=no", `--root=${verified}`, SERVICE_PATH, TIMER_PATH], { encoding: "utf8" });
  assert.equal(v.status, 0, `${v.stdout}${v.stderr}`);
  assert.equal(`${v.stdout}${v.stderr}`, "", "systemd-analyze has nothing to say");

  // The check speaks up: a misspelt setting and a script that is not executable.
  const root = (jobs[0] as { root: string }).root;
  writeFileSync(join(root, SERVICE_PATH), serviceUnit("wg0").replace("Type=oneshot", "Type=oneshot\nKilMode=process"));
  const misspelt = spawnSync(analyze, ["verify", "--man=no", `--root=${root}`, SERVICE_PATH], { encoding: "utf8" });
  assert.match(misspelt.stderr, /Unknown key 'KilMode' in section \[Service\]/);
  writeFileSync(join(root, SERVICE_PATH), serviceUnit("wg0"));
  spawnSync("chmod", ["-x", join(root, SYNC_SCRIPT_PATH)]);
  const notExecutable = spawnSync(analyze, ["verify", "--man=no", `--root=${root}`, SERVICE_PATH], { encoding: "utf8" });
  assert.notEqual(notExecutable.status, 0);
  assert.match(notExecutable.stderr, /is not executable/);
});

test("the node agent's units (the failover watchdog, the access metrics timer) pass systemd-analyze verify where the agent installs them", (t) => {
  const analyze = tool("systemd-analyze");
  const systemUnits = ["/usr/lib/systemd/system", "/lib/systemd/system"].find((d) => existsSync(join(d, "sysinit.target")));
  assert.ok(systemUnits, "systemd's own units (install systemd)");
  const root = scratch(t);
  cpSync(systemUnits, join(root, "usr/lib/systemd/system"), { recursive: true });
  // The agent as a node unpacks it (its units name their programs under the agent's own version).
  const agentDir = join(root, "usr/local/lib/wgmesh/agents", AGENT_VERSION);
  const units: string[] = [];
  for (const f of agentFiles()) {
    const unit = f.name.startsWith("unit/");
    const path = unit ? join(root, "etc/systemd/system", f.name.slice(5)) : join(agentDir, f.name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, f.content, { mode: Number.parseInt(f.mode, 8) });
    if (unit) units.push(`/etc/systemd/system/${f.name.slice(5)}`);
  }
  assert.deepEqual(units.sort(), ["/etc/systemd/system/wgmesh-access-metrics.service", "/etc/systemd/system/wgmesh-access-metrics.timer", "/etc/systemd/system/wgmesh-watchdog.service"]);
  const v = spawnSync(analyze, ["verify", "--man=no", `--root=${root}`, ...units], { encoding: "utf8" });
  assert.equal(v.status, 0, `${v.stdout}${v.stderr}`);
  assert.equal(`${v.stdout}${v.stderr}`, "", "systemd-analyze has nothing to say");
});
