/**
 * `wgmesh doctor` on the staging mesh in the lab: the node doctor (the file cloud-init installs as
 * /usr/local/sbin/wgmesh) run in a node's namespace. Each test breaks exactly one thing on a healthy
 * node, expects exactly the one finding that names it, applies the fix the finding gives (the
 * command itself where it is one) and expects the node healthy again (exit 0).
 *
 * The lab stays up for the whole file. Two links are broken at the start and checked at the end,
 * because a handshake only counts as stale after WireGuard's own 180 s; the other tests run on
 * nodes those links do not touch (fra, and dub for forwarding). Needs root; skipped loudly without.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { loadStackConfig } from "../../infra/config";
import { generateKeyPair } from "../../infra/keys";
import { planMesh } from "../../infra/plan";
import { notBeforeOf, rotationComment } from "../../infra/rotation";
import { doctorLabNode, type NodeDoctor } from "../../lab/doctor";
import { run, sleep, tool } from "../../lab/exec";
import { configsFromPlan } from "../../lab/from-plan";
import { Lab } from "../../lab/lab";
import { labBlocker } from "../../lab/preflight";
import { nodeRecord, readState } from "../../lab/state";
import { syncFilesOf, type SyncFiles } from "../../lab/sync-files";
import { leftoversOfLab } from "../../lab/teardown";

const REPO = resolve(__dirname, "..", "..");
const blocker = labBlocker();
if (blocker) process.stderr.write(`\n*** SKIPPING the wgmesh doctor lab tests: ${blocker} ***\n\n`);

function labTest(name: string, fn: () => Promise<void>, timeout = 120_000): void {
  test(name, { skip: blocker ? `lab cannot run here: ${blocker}` : false, timeout }, fn);
}

let lab: Lab | undefined;
/** When the two handshake breaks began. */
let brokeLinksAt = 0;

function info(node: string): { namespace: string; iface: string; underlay: string; files: SyncFiles } {
  const state = readState((lab as Lab).id);
  const record = (state ? nodeRecord(state, node) : undefined);
  assert.ok(state && record, `lab node ${node}`);
  return { namespace: record.namespace, iface: record.iface, underlay: record.underlay, files: syncFilesOf(state.workDir, record.iface) };
}

async function doctor(node: string, syncPeriodSeconds = 0): Promise<NodeDoctor> {
  return doctorLabNode(readState((lab as Lab).id) as NonNullable<ReturnType<typeof readState>>, node, { syncPeriodSeconds });
}

/** Problem lines: everything but notes and the closing line. */
function problemsOf(d: NodeDoctor, iface: string): string[] {
  return d.lines.filter((l) => l.startsWith(`${iface}: `) && !/^\S+: (note: |healthy: |\d+ problems?$)/.test(l));
}

/** Runs bash in the node's namespace, as root on the node would (wg-quick finds wireguard-go). */
async function onNode(node: string, script: string): Promise<void> {
  const r = await run("ip", ["netns", "exec", info(node).namespace, "bash", "-c", script], {
    allowFailure: true,
    env: { WG_QUICK_USERSPACE_IMPLEMENTATION: tool("wireguard-go"), WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: "1" },
  });
  assert.equal(r.code, 0, `${node}: ${script}: ${r.stderr}`);
}

async function assertHealthy(node: string, syncPeriodSeconds = 0): Promise<NodeDoctor> {
  const d = await doctor(node, syncPeriodSeconds);
  assert.equal(d.code, 0, d.lines.join("\n"));
  assert.match(d.lines.at(-1) ?? "", /: healthy: \d+ peers?, each with a handshake in the last 3 min; config sha256 [0-9a-f]{12}/);
  return d;
}

/** Exactly one problem, matching `pattern`; returns its fix. */
async function expectOnly(node: string, pattern: RegExp, syncPeriodSeconds = 0): Promise<string> {
  const d = await doctor(node, syncPeriodSeconds);
  const problems = problemsOf(d, info(node).iface);
  assert.equal(d.code, 1, d.lines.join("\n"));
  assert.equal(problems.length, 1, `exactly one finding:\n${d.lines.join("\n")}`);
  const line = problems[0] as string;
  assert.match(line, pattern);
  assert.equal(d.lines.at(-1), `${info(node).iface}: 1 problem`);
  const fix = /; fix: (.+)$/.exec(line)?.[1];
  assert.ok(fix, `the finding gives its fix: ${line}`);
  return fix;
}

/** The node's wgmesh-sync run as its timer would run it. */
async function sync(node: string): Promise<void> {
  const r = await (lab as Lab).sync(node);
  assert.equal(r.code, 0, r.log.join("\n"));
}

before(async () => {
  if (blocker) return;
  const doc = parseDocument(readFileSync(join(REPO, "Pulumi.staging.yaml"), "utf8"));
  const input = configsFromPlan(planMesh(loadStackConfig(doc.toString(), "Pulumi.staging.yaml")));
  lab = await Lab.up(input.configs, { sites: input.sites as Record<string, string> });
  const m = await lab.pingMatrix();
  assert.equal(m.reachable, m.total, "the staging mesh is whole before anything is broken");
});

after(() => {
  if (!lab) return;
  const id = lab.id;
  lab.down();
  assert.deepEqual(leftoversOfLab(id), [], `lab ${id} left things behind`);
});

labTest("a healthy mesh: every node's doctor exits 0 with one closing line", async () => {
  for (const node of ["dub", "hkg", "nrt", "sin", "fra"]) {
    const d = await assertHealthy(node);
    assert.equal(d.lines.length, 1, d.lines.join("\n"));
  }
});

labTest("wgmesh doctor --all and --lab on the running lab: node-prefixed lines, exit 0; a problem makes it exit 1", async () => {
  const cli = (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((res) => {
      const child = spawn(process.execPath, [join(REPO, "cli", "bin.js"), "doctor", ...args], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.once("close", (code) => res({ code, stdout, stderr }));
    });
  const id = (lab as Lab).id;
  const all = await cli(["--all", "--id", id]);
  assert.equal(all.code, 0, all.stderr + all.stdout);
  assert.deepEqual(all.stdout.trim().split("\n").map((l) => l.split(":")[0]), ["dub", "hkg", "nrt", "sin", "fra"]);
  const { iface } = info("fra");
  await onNode("fra", `ip link set dev ${iface} mtu 1300`);
  const one = await cli(["--lab", "fra", "--id", id]);
  assert.equal(one.code, 1, one.stdout);
  assert.match(one.stdout, new RegExp(`^fra: ${iface}: ${iface} has MTU 1300, but .* says MTU = 1380`, "m"));
  await onNode("fra", `ip link set dev ${iface} mtu 1380`);
  const usage = await cli([]);
  assert.equal(usage.code, 1);
  assert.equal(usage.stderr, "wgmesh: doctor: say which lab node: --lab NODE, or --all for every node (on a deployed node, run sudo wgmesh doctor there)\n");
});

labTest("two links stop carrying handshakes (nrt drops hkg's UDP; sin drops everything from hkg): not stale yet", async () => {
  // nrt refuses hkg's WireGuard packets but still answers its pings; sin answers nothing from hkg.
  await onNode("nrt", `iptables -I INPUT -s ${info("hkg").underlay} -p udp -j DROP`);
  await onNode("sin", `iptables -I INPUT -s ${info("hkg").underlay} -j DROP`);
  brokeLinksAt = Date.now();
  // A link that has just broken still has a session younger than WireGuard's 180 s.
  await assertHealthy("nrt");
  await assertHealthy("sin");
});

labTest("interface gone: the one finding says so; the fix (the sync unit's run) brings it up", async () => {
  await (lab as Lab).stopNode("fra");
  const fix = await expectOnly("fra", new RegExp(`^${info("fra").iface}: ${info("fra").iface} does not exist; fix: systemctl start wgmesh-sync`));
  assert.match(fix, /^systemctl start wgmesh-sync/);
  await sync("fra");
  await assertHealthy("fra");
});

labTest("interface down: the one finding; its fix (wg-quick down and up) restores it with its routes", async () => {
  const { iface, files } = info("fra");
  await onNode("fra", `ip link set dev ${iface} down`);
  const fix = await expectOnly("fra", new RegExp(`: ${iface} is down; fix: wg-quick down ${files.installed}; wg-quick up ${files.installed}`));
  await onNode("fra", fix.replace(/ \(which .*\)$/, ""));
  await assertHealthy("fra");
});

labTest("a PrivateKey that is not the config's: the one finding names both public keys; syncconf restores it", async () => {
  const { iface } = info("fra");
  const stranger = generateKeyPair();
  await onNode("fra", `wg set ${iface} private-key <(printf '%s\\n' '${stranger.privateKey}')`);
  const d = await doctor("fra");
  for (const line of d.lines) assert.ok(!line.includes(stranger.privateKey), "a private key in the doctor's output");
  const fix = await expectOnly("fra", new RegExp(`: ${iface} runs PublicKey ${stranger.publicKey.replace(/[+/]/g, "\\$&")}, but the PrivateKey in .* makes \\S+; fix: wg syncconf ${iface} <\\(wg-quick strip .*\\)$`));
  await onNode("fra", fix);
  await assertHealthy("fra");
});

labTest("another ListenPort: the one finding; wg set listen-port restores it", async () => {
  const { iface } = info("fra");
  await onNode("fra", `wg set ${iface} listen-port 51999`);
  const fix = await expectOnly("fra", new RegExp(`: ${iface} listens on UDP 51999, but .* says ListenPort = 51820, where its peers send; fix: wg set ${iface} listen-port 51820$`));
  await onNode("fra", fix);
  await assertHealthy("fra");
});

labTest("another MTU: the one finding; ip link set mtu restores the plan's", async () => {
  const { iface } = info("fra");
  await onNode("fra", `ip link set dev ${iface} mtu 1300`);
  const fix = await expectOnly("fra", new RegExp(`: ${iface} has MTU 1300, but .* says MTU = 1380, the mesh's MTU for every link; fix: ip link set dev ${iface} mtu 1380$`));
  await onNode("fra", fix);
  await assertHealthy("fra");
});

labTest("a peer missing from the interface: the one finding names it; syncconf brings it back", async () => {
  const { iface } = info("fra");
  const dub = (await run("ip", ["netns", "exec", info("dub").namespace, "wg", "show", info("dub").iface, "public-key"])).stdout.trim();
  await onNode("fra", `wg set ${iface} peer ${dub} remove`);
  const fix = await expectOnly("fra", new RegExp(`: peer dub \\(PublicKey ${dub.replace(/[+/]/g, "\\$&")}\\) is in .* but not on ${iface}; fix: wg syncconf`));
  await onNode("fra", fix);
  await assertHealthy("fra");
});

labTest("an extra peer on the interface: the one finding; wg set peer remove takes it off", async () => {
  const { iface } = info("fra");
  const extra = generateKeyPair().publicKey;
  await onNode("fra", `wg set ${iface} peer ${extra} allowed-ips 100.64.9.9/32`);
  const fix = await expectOnly("fra", new RegExp(`: ${iface} has a peer .* does not list \\(PublicKey ${extra.replace(/[+/]/g, "\\$&")}\\); fix: wg set ${iface} peer \\S+ remove$`));
  await onNode("fra", fix);
  await assertHealthy("fra");
});

labTest("a peer's AllowedIPs changed on the interface: the one finding shows both; wg set allowed-ips restores them", async () => {
  const { iface } = info("fra");
  const dub = (await run("ip", ["netns", "exec", info("dub").namespace, "wg", "show", info("dub").iface, "public-key"])).stdout.trim();
  await onNode("fra", `wg set ${iface} peer ${dub} allowed-ips 100.64.0.1/32`);
  const fix = await expectOnly("fra", new RegExp(`: peer dub has AllowedIPs = 100\\.64\\.0\\.1/32 on ${iface}, but .* says 100\\.64\\.0\\.0/16; fix: wg set ${iface} peer \\S+ allowed-ips 100\\.64\\.0\\.0/16$`));
  await onNode("fra", fix);
  await assertHealthy("fra");
});

labTest("AllowedIPs without their route: the one finding; ip route add restores it", async () => {
  const { iface } = info("fra");
  await onNode("fra", `ip route del 100.64.0.0/16 dev ${iface}`);
  const fix = await expectOnly("fra", new RegExp(`: 100\\.64\\.0\\.0/16, AllowedIPs of peer dub, has no route to ${iface}; fix: ip route add 100\\.64\\.0\\.0/16 dev ${iface}$`));
  await onNode("fra", fix);
  await assertHealthy("fra");
});

labTest("AllowedIPs routed to the wrong device: the one finding names it; its fix puts the route back on the interface", async () => {
  const { iface } = info("fra");
  await onNode("fra", `ip route del 100.64.0.0/16 dev ${iface} && ip route add 100.64.0.0/16 dev underlay`);
  const fix = await expectOnly("fra", new RegExp(`: 100\\.64\\.0\\.0/16, AllowedIPs of peer dub, is routed to underlay \\(100\\.64\\.0\\.0/16 dev underlay\\), not ${iface}; fix: ip route del 100\\.64\\.0\\.0/16 dev underlay; ip route replace 100\\.64\\.0\\.0/16 dev ${iface}$`));
  await onNode("fra", fix);
  await assertHealthy("fra");
});

labTest("forwarding off on a transit node: the one finding; sysctl turns it back on", async () => {
  await onNode("dub", "sysctl -qw net.ipv4.ip_forward=0");
  const fix = await expectOnly("dub", /: forwarding is off, but this node carries other nodes' traffic .*; fix: sysctl -w net\.ipv4\.ip_forward=1$/);
  await onNode("dub", fix);
  await assertHealthy("dub");
});

labTest("a FORWARD chain that drops on a transit node: the one finding; the FORWARD rule admits the interface again", async () => {
  const { iface } = info("dub");
  await onNode("dub", "iptables -P FORWARD DROP");
  try {
    const fix = await expectOnly("dub", new RegExp(`: iptables drops what ${iface} forwards .*; fix: iptables -A FORWARD -i ${iface} -o ${iface} -j ACCEPT$`));
    await onNode("dub", fix);
    await assertHealthy("dub");
  } finally {
    await onNode("dub", `iptables -P FORWARD ACCEPT; iptables -D FORWARD -i ${iface} -o ${iface} -j ACCEPT || true`);
  }
});

labTest("the sync unit failing: the one finding carries its last log line; fixing the vault and a run clear it", async () => {
  const { files } = info("fra");
  const good = readFileSync(files.vault, "utf8");
  const applied = readFileSync(files.installed, "utf8");
  writeFileSync(files.vault, (lab as Lab).vaultEntry("fra", applied.replace(/^PrivateKey = .*$/m, "")), { mode: 0o600 });
  const failed = await (lab as Lab).sync("fra");
  assert.notEqual(failed.code, 0);
  await expectOnly("fra", new RegExp(`: wgmesh-sync failed \\d+ s ago: the config in file ${files.vault} has no \\[Interface\\] PrivateKey; ${info("fra").iface} keeps its current config; fix: correct that`));
  writeFileSync(files.vault, good, { mode: 0o600 });
  await sync("fra");
  await assertHealthy("fra");
});

labTest("a vault newer than the applied config: the one finding gives both versions; a sync run applies it", async () => {
  const { files } = info("fra");
  const applied = readFileSync(files.installed, "utf8");
  const entry = readFileSync(files.vault, "utf8");
  writeFileSync(files.vault, (lab as Lab).vaultEntry("fra", applied.replace("PersistentKeepalive = 25", "PersistentKeepalive = 20")), { mode: 0o600 });
  await expectOnly("fra", /: the applied config \(sha256 [0-9a-f]{12}\) is older than the one in file \S+ \(sha256 [0-9a-f]{12}\); fix: systemctl start wgmesh-sync$/);
  await sync("fra");
  await assertHealthy("fra");
  writeFileSync(files.vault, entry, { mode: 0o600 });
  await sync("fra");
});

labTest("a vault the node cannot read: the one finding says what the fetch said", async () => {
  const { files } = info("fra");
  const kept = readFileSync(files.vault, "utf8");
  rmSync(files.vault);
  try {
    await expectOnly("fra", new RegExp(`: cannot read the config from file ${files.vault}: ${files.vault} is missing; fix: `));
  } finally {
    writeFileSync(files.vault, kept, { mode: 0o600 });
  }
  await assertHealthy("fra");
});

labTest("a new key epoch held for its time is a note, not a problem; once due and not applied, it is one", async () => {
  const { files } = info("fra");
  const applied = readFileSync(files.installed, "utf8");
  const entry = readFileSync(files.vault, "utf8");
  const soon = notBeforeOf(new Date(), 3600);
  writeFileSync(files.vault, (lab as Lab).vaultEntry("fra", `# ${rotationComment({ keyEpoch: 2, notBefore: soon })}\n${applied}`), { mode: 0o600 });
  const d = await assertHealthy("fra");
  assert.match(d.lines.join("\n"), new RegExp(`note: file \\S+ holds key epoch 2, held until ${soon} \\(in \\d+ s\\), when every node switches to it`));
  const late = notBeforeOf(new Date(Date.now() - 60_000), 0);
  writeFileSync(files.vault, (lab as Lab).vaultEntry("fra", `# ${rotationComment({ keyEpoch: 2, notBefore: late })}\n${applied}`), { mode: 0o600 });
  await expectOnly("fra", /: the applied config .* is older than the one in file/);
  writeFileSync(files.vault, entry, { mode: 0o600 });
  await assertHealthy("fra");
});

labTest("a sync unit that stopped running (no run for 3 timer periods): the one finding; a run clears it", async () => {
  await sync("fra");
  // The doctor counts whole seconds (date +%s): 4.2 s after the run ended is at least 4 whole
  // seconds after it started, past the 3 s threshold whatever the sub-second phase.
  await sleep(4200);
  const fix = await expectOnly("fra", /: wgmesh-sync last ran \d+ s ago, though its timer runs it every 1 s; fix: systemctl enable --now wgmesh-sync\.timer$/, 1);
  assert.equal(fix, "systemctl enable --now wgmesh-sync.timer");
  await sync("fra");
  await assertHealthy("fra", 1);
});

labTest("a sync unit that never ran: the one finding; its first run clears it", async () => {
  const { files } = info("fra");
  rmSync(files.state);
  await expectOnly("fra", new RegExp(`: wgmesh-sync has not finished a run here \\(${files.state} is missing\\); fix: systemctl start wgmesh-sync`));
  await sync("fra");
  await assertHealthy("fra");
});

labTest(
  "stale handshakes, once older than WireGuard's 180 s: one finding per broken link, saying whether the far end answers ping",
  async () => {
    assert.ok(brokeLinksAt > 0, "the links were broken earlier in this file");
    const hkg = info("hkg").underlay;
    // nrt still answers hkg's pings: the underlay is up and WireGuard's packets are what is lost.
    // sin answers nothing from hkg, so from sin's side hkg's endpoint does not answer either.
    const expected: Record<string, RegExp> = {
      nrt: new RegExp(`: peer hkg: last handshake \\d+ min ago \\(WireGuard drops a session after 3 min\\); its endpoint ${hkg.replace(/\./g, "\\.")} answers ping, so the underlay is up and WireGuard's packets are lost or refused; fix: on hkg, admit UDP 51820 from this node and check it lists PublicKey \\S+$`),
      sin: new RegExp(`: peer hkg: last handshake \\d+ min ago \\(WireGuard drops a session after 3 min\\); its endpoint ${hkg.replace(/\./g, "\\.")} does not answer ping either, so hkg or the path to it is down \\(or ICMP is filtered\\); fix: check that hkg is up`),
    };
    for (const [node, pattern] of Object.entries(expected)) {
      for (;;) {
        const d = await doctor(node);
        if (d.code === 1) {
          await expectOnly(node, pattern);
          break;
        }
        assert.equal(d.code, 0, d.lines.join("\n"));
        assert.ok(Date.now() - brokeLinksAt < 200_000, `${node}: no finding 200 s after its link broke:\n${d.lines.join("\n")}`);
        await sleep(10_000);
      }
    }
    // The fix: let the far end hear hkg again.
    await onNode("nrt", `iptables -D INPUT -s ${hkg} -p udp -j DROP`);
    await onNode("sin", `iptables -D INPUT -s ${hkg} -j DROP`);
    for (const node of ["nrt", "sin"]) {
      for (let i = 0; ; i++) {
        const d = await doctor(node);
        if (d.code === 0) break;
        assert.ok(i < 10, `${node} did not recover:\n${d.lines.join("\n")}`);
        await sleep(3000);
      }
    }
  },
  300_000,
);
