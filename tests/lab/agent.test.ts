/**
 * The node agent on one node, with the real bootstrap and agent scripts on real WireGuard in a network
 * namespace made here (tests/support/sync-bench.ts): how it replaces itself when its config names a
 * newer agent, rolls back one that fails its self-check, refuses entries that are cut short, altered,
 * another node's or name an older agent (one line, nothing changed), installs the files riding with
 * the config and hands them to its apply hooks, sets a new MTU in place, and how a node still on the
 * sync script of its user data (today's fleet) moves to it without a restart.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AGENT_VERSION, agentFiles, renderAgentBundle } from "../../infra/render/agent";
import { agentDelivery, agentPartName } from "../../infra/render/agent-parts";
import { shippedBootstrap } from "../../infra/render/cloudinit";
import { sha256, type SetFile } from "../../infra/render/fileset";
import { manualBootstrapCommand, renderPayload } from "../../infra/render/payload";
import { fillTemplate } from "../../infra/render/sync-script";
import { fileVault } from "../../infra/vault";
import { largeAgent } from "../support/large-agent";
import { assertNoKeyIn, config, sleepMs, syncTest, withBench, type Bench, type Run } from "../support/sync-bench";

const NEXT = "0.99.0";

/** The agent of this tree under another version, its files changed by `edit` (a broken self-check, a hook). */
function agentAs(version: string, edit: (files: SetFile[]) => SetFile[] = (f) => f) {
  return renderAgentBundle(version, edit(agentFiles(version)));
}

function doctor(b: Bench): Run {
  const r = spawnSync("ip", ["netns", "exec", b.ns, join(b.bin, "wgmesh"), "doctor"], { encoding: "utf8", env: { ...process.env, ...b.env(), WGMESH_SYNC_PERIOD: "1" } });
  return { code: r.status ?? 1, output: `${r.stdout}${r.stderr}` };
}

function state(b: Bench): Record<string, string> {
  return Object.fromEntries(
    readFileSync(join(b.confDir, `${b.iface}.state`), "utf8")
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

function metrics(b: Bench): string {
  return readFileSync(join(b.confDir, `wgmesh-${b.iface}.prom`), "utf8");
}

/** A node up on this tree's agent. */
function upOnAgent(b: Bench): void {
  b.publish(config(b));
  const r = b.run();
  assert.equal(r.code, 0, r.output);
  assert.equal(b.agentVersion(), AGENT_VERSION);
}

syncTest("a newer agent named by the config replaces the running one in the same run, without touching the interface", () => {
  withBench((b) => {
    upOnAgent(b);
    const before = b.state();
    b.agent = agentAs(NEXT);
    b.publish(config(b, { port: 51931 }));
    const r = b.run();
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, new RegExp(`^agent ${AGENT_VERSION} -> ${NEXT}: installed, passed its self-check, current$`, "m"));
    assert.match(r.output, new RegExp(`^agent ${NEXT} takes over this run from agent ${AGENT_VERSION}$`, "m"));
    assert.match(r.output, /applied the new config to \S+ in place/);
    assert.equal(b.agentVersion(), NEXT);
    assert.equal(readlinkSync(join(b.lib, "previous")), `agents/${AGENT_VERSION}`);
    assert.equal(readlinkSync(join(b.bin, "wgmesh")), join(b.lib, "current", "wgmesh"));
    const after = b.state();
    assert.equal(after.pid, before.pid, "the interface was not restarted");
    assert.equal(after.ifindex, before.ifindex);
    assert.equal(after.listenPort, 51931, "the new agent applied the config");
    const s = state(b);
    assert.deepEqual([s.agent_version, s.agent_expected, s.agent_behind_since, s.agent_problem], [NEXT, NEXT, "", ""]);
    assert.match(metrics(b), new RegExp(`^wgmesh_agent_info\\{interface="${b.iface}",version="${NEXT}"\\} 1$`, "m"));
    // A later run has nothing to do.
    assert.equal(b.run().output, "");
    assert.equal(doctor(b).code, 0, doctor(b).output);
  });
});

syncTest("an agent that fails its self-check is rolled back, reported by the run, the state, the metrics and the doctor, and not tried again; configs still apply", () => {
  withBench((b) => {
    upOnAgent(b);
    const broken = agentAs(NEXT, (files) =>
      files.map((f) => (f.name === "wgmesh-sync" ? { ...f, content: f.content.replace("self_check() {\n", 'self_check() {\n  fail "self-check: broken on purpose"\n') } : f)),
    );
    b.agent = broken;
    b.publish(config(b, { port: 51932 }));
    const r = b.run();
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, new RegExp(`^agent ${NEXT} failed its self-check \\(self-check: broken on purpose\\) and was rolled back to ${AGENT_VERSION}$`, "m"));
    assert.equal(b.agentVersion(), AGENT_VERSION, "rolled back");
    assert.ok(!existsSync(join(b.lib, "agents", NEXT)), "the failed agent is gone");
    assert.equal(b.state().listenPort, 51932, "the running agent applied the config");
    assert.match(state(b).agent_problem, /failed its self-check/);
    assert.match(metrics(b), /^wgmesh_agent_problem\{interface="[^"]+"\} 1$/m);
    assert.match(metrics(b), new RegExp(`^wgmesh_agent_expected_info\\{interface="[^"]+",version="${NEXT}"\\} 1$`, "m"));

    // The next run does not fetch or try it again, and says so in one line.
    writeFileSync(b.agentFile, "not read again");
    const again = b.run();
    assert.equal(again.code, 0, again.output);
    assert.equal(again.output.trim().split("\n").length, 1, again.output);
    assert.match(again.output.trim(), new RegExp(`^agent ${NEXT} failed its self-check \\(self-check: broken on purpose\\) and was rolled back; running ${AGENT_VERSION}$`));
    const d = doctor(b);
    assert.equal(d.code, 1, d.output);
    assert.match(d.output, new RegExp(`: agent: agent ${NEXT} failed its self-check \\(self-check: broken on purpose\\) and was rolled back; running ${AGENT_VERSION}; fix: release a fixed agent under a new version`));

    // A fixed agent under a newer version goes in.
    b.agent = agentAs("0.99.1");
    b.publish(config(b, { port: 51932 }));
    assert.equal(b.run().code, 0);
    assert.equal(b.agentVersion(), "0.99.1");
    assert.equal(state(b).agent_problem, "");
  });
});

syncTest("refused whole, with one line and nothing changed: an entry cut short, altered, another node's, or naming an older agent", () => {
  withBench((b) => {
    upOnAgent(b);
    const before = b.state();
    const installed = b.installedConfig();
    const next = b.entry(config(b, { port: 51933 }));
    const cases: [string, string, RegExp][] = [
      ["cut short", next.slice(0, Math.floor(next.length * 0.7)), /: it is truncated \(it does not end with its end line\)/],
      ["one byte altered", next.replace("ListenPort = 51933", "ListenPort = 51934"), /: it does not match its sha256 \(altered or truncated\)/],
      ["another node's", next.replace(`#@wgmesh payload 1 bench ${b.iface}`, `#@wgmesh payload 1 other ${b.iface}`), /: it does not match its sha256/],
      [
        "another node's, sealed",
        renderOther(b, config(b, { port: 51933 })),
        new RegExp(`: it is not node bench's ${b.iface} but says #@wgmesh payload 1 hkg ${b.iface}`),
      ],
      ["an older agent", b.entry(config(b, { port: 51933 }), {}, agentAs("0.1.9")), new RegExp(`: it names agent 0\\.1\\.9, older than the running ${AGENT_VERSION.replace(/\./g, "\\.")}, and agents never go back`)],
    ];
    for (const [what, text, why] of cases) {
      b.publishRaw(text);
      const r = b.run();
      assert.notEqual(r.code, 0, `${what}: the run fails`);
      assert.equal(r.output.trim().split("\n").length, 1, `${what}: one line: ${r.output}`);
      assert.match(r.output.trim(), /^refused the entry in file \S+: .*; \S+ keeps its current config$/, what);
      assert.match(r.output, why, what);
      assertNoKeyIn(r.output, b);
      assert.deepEqual(b.state(), before, `${what}: the interface changed`);
      assert.equal(b.installedConfig(), installed, `${what}: the installed config changed`);
      assert.equal(b.agentVersion(), AGENT_VERSION, `${what}: the agent changed`);
      assert.equal(state(b).result, "refused", what);
      assert.match(metrics(b), /^wgmesh_vault_entry_refused\{interface="[^"]+"\} 1$/m, what);
      const d = doctor(b);
      assert.equal(d.code, 1, d.output);
      assert.match(d.output, /wgmesh-sync \d+ s ago: refused the entry in .*; fix: run pulumi up for this stack/, what);
    }
  });
});

/** A sealed, valid entry for another node of the same interface name. */
function renderOther(b: Bench, conf: string): string {
  const text = b.entry(conf).replace(/^#@wgmesh end .*\n$/m, "").replace(`#@wgmesh payload 1 bench ${b.iface}`, `#@wgmesh payload 1 hkg ${b.iface}`);
  return `${text}#@wgmesh end ${sha256(text)}\n`;
}

syncTest("an agent secret that is not the agent the config names is not installed: one line, the doctor names it, the running agent applies the config", () => {
  withBench((b) => {
    upOnAgent(b);
    b.agent = agentAs(NEXT);
    b.publish(config(b, { port: 51935 }));
    writeFileSync(b.agentFile, `${b.agent.value.slice(0, 100)}A${b.agent.value.slice(101)}`);
    const r = b.run();
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, new RegExp(`^agent ${NEXT} not installed: agent secret \\S+ \\(\\d+ bytes\\) is not the agent ${NEXT} the config names .*: altered, truncated or not written yet; running ${AGENT_VERSION}$`, "m"));
    assert.equal(b.agentVersion(), AGENT_VERSION);
    assert.equal(b.state().listenPort, 51935);
    const d = doctor(b);
    assert.match(d.output, new RegExp(`agent: agent ${NEXT} not installed: agent secret`));
    // Behind for more than two timer periods with no reason recorded (runs that never got as far as the
    // agent, say): a finding of its own. The doctor is told the timer runs every second.
    const file = join(b.confDir, `${b.iface}.state`);
    const since = Math.floor(Date.now() / 1000) - 600;
    writeFileSync(file, readFileSync(file, "utf8").replace(/^agent_problem=.*$/m, "agent_problem=").replace(/^agent_behind_since=\d+$/m, `agent_behind_since=${since}`));
    assert.match(doctor(b).output, new RegExp(`: runs agent ${AGENT_VERSION.replace(/\./g, "\\.")}, but its config names ${NEXT.replace(/\./g, "\\.")} since 10 min ago, more than two timer periods; fix: journalctl -u wgmesh-sync -n 20 says why, then systemctl start wgmesh-sync`));
    // Once the vault holds it whole, the next run installs it.
    writeFileSync(b.agentFile, b.agent.value);
    assert.equal(b.run().code, 0);
    assert.equal(b.agentVersion(), NEXT);
  });
});

syncTest("an agent in two parts (a vault whose secrets are too small for it): installed by the agent and by the bootstrap; part 2 missing or altered leaves the running agent (or none) in place, and the next run takes it whole", () => {
  withBench((b) => {
    // The files stand in for an Azure Key Vault: 25,000 bytes per secret, so this agent takes two.
    b.vaultCloud = "azure";
    upOnAgent(b);
    // This release's agent, installed by the bootstrap: in two parts here once it is over 25,000 bytes.
    assert.equal(existsSync(agentPartName(b.agentFile, 2)), agentDelivery(b.agent, "azure").values.length > 1);
    const next = largeAgent(NEXT);
    b.agent = next;
    b.publish(config(b, { port: 51941 }));
    const part2 = agentPartName(b.agentFile, 2);
    const parts = agentDelivery(next, "azure").values;
    assert.deepEqual([readFileSync(b.agentFile, "utf8"), readFileSync(part2, "utf8")], parts);
    assert.match(readFileSync(b.vaultFile, "utf8"), new RegExp(`^#@wgmesh agent ${NEXT} ${next.sha256} ${next.bytes} 2$`, "m"));

    // Part 2 not there (not written yet, or lost): the agent stays, applies the config, and says why.
    rmSync(part2);
    const missing = b.run();
    assert.equal(missing.code, 0, missing.output);
    assert.match(missing.output, new RegExp(`^agent ${NEXT} not installed: part 2 of 2 of agent ${NEXT}: ${part2.replace(/[.]/g, "\\.")} is missing; running ${AGENT_VERSION}$`, "m"));
    assert.equal(b.agentVersion(), AGENT_VERSION);
    assert.equal(b.state().listenPort, 51941);
    // Part 2 altered (one character): the joined value is not the one the config names.
    writeFileSync(part2, `${parts[1]?.slice(0, 50)}${parts[1]?.[50] === "A" ? "B" : "A"}${parts[1]?.slice(51)}`);
    const altered = b.run();
    assert.equal(altered.code, 0, altered.output);
    assert.match(altered.output, new RegExp(`^agent ${NEXT} not installed: agent secret \\S+ and its parts 2-2 \\(${next.bytes} bytes\\) is not the agent ${NEXT} the config names .*; running ${AGENT_VERSION}$`, "m"));
    assert.equal(b.agentVersion(), AGENT_VERSION);
    // Part 2 cut short: the same.
    writeFileSync(part2, (parts[1] as string).slice(0, -10));
    assert.match(b.run().output, new RegExp(`^agent ${NEXT} not installed: agent secret \\S+ and its parts 2-2 \\(${next.bytes - 10} bytes\\) is not the agent ${NEXT}`, "m"));
    assert.equal(b.agentVersion(), AGENT_VERSION);
    // Whole again: the next run joins both parts and moves to it.
    writeFileSync(part2, parts[1] as string);
    const moved = b.run();
    assert.equal(moved.code, 0, moved.output);
    assert.match(moved.output, new RegExp(`^agent ${AGENT_VERSION} -> ${NEXT}: installed, passed its self-check, current$`, "m"));
    assert.equal(b.agentVersion(), NEXT);
    assert.ok(existsSync(join(b.lib, "current", "hooks", "padding")), "the whole agent, its last file included");
    assert.equal(readFileSync(join(b.lib, "current", ".sha256"), "utf8").trim(), next.sha256);
  });
  // A new node: the bootstrap joins the parts before the sha256 check, and without part 2 installs nothing.
  withBench((b) => {
    b.vaultCloud = "azure";
    b.agent = largeAgent(NEXT);
    b.publish(config(b, { port: 51942 }));
    const part2 = agentPartName(b.agentFile, 2);
    const kept = readFileSync(part2, "utf8");
    rmSync(part2);
    const none = b.run();
    assert.notEqual(none.code, 0, none.output);
    assert.equal(b.agentVersion(), undefined);
    writeFileSync(part2, kept.replace(/^./, (c) => (c === "A" ? "B" : "A")));
    const wrong = b.run();
    assert.notEqual(wrong.code, 0, wrong.output);
    assert.match(wrong.output, new RegExp(`^no node agent: \\S+ is not agent ${NEXT}$`, "m"));
    assert.equal(b.agentVersion(), undefined);
    writeFileSync(part2, kept);
    const r = b.run();
    assert.equal(r.code, 0, r.output);
    assert.equal(b.agentVersion(), NEXT);
    assert.equal(b.state().listenPort, 51942);
  });
});

syncTest("files riding with the config are installed as one beside wg0.conf and handed to the agent's apply hook: new, changed, unchanged, gone, and again after a restart", () => {
  withBench((b) => {
    const calls = join(b.dir, "hook-calls");
    const hook = `#!/bin/bash\nprintf '%s %s %s\\n' "$1" "\${2##*/}" "$(cat "\${2:-/dev/null}" 2>/dev/null | head -n 1)" >>${JSON.stringify(calls)}\n`;
    b.agent = agentAs(AGENT_VERSION, (files) => [...files, { name: "hooks/failover.table", mode: "0755", content: hook }]);
    b.publish(config(b), { "failover.table": "ireland fra\n", "notes.txt": "no hook for this one\n" });
    const first = b.run();
    assert.equal(first.code, 0, first.output);
    const dir = join(b.confDir, `${b.iface}.d`);
    assert.match(readlinkSync(dir), new RegExp(`^\\.${b.iface}\\.d\\.[0-9a-f]{16}$`));
    assert.equal(readFileSync(join(dir, "failover.table"), "utf8"), "ireland fra\n");
    assert.equal(readFileSync(join(dir, "notes.txt"), "utf8"), "no hook for this one\n");
    assert.match(first.output, /^failover\.table: applied by its hook$/m);
    assert.match(first.output, /^notes\.txt: installed in \S+; agent \S+ has no apply hook for it$/m);
    assert.deepEqual(readFileSync(calls, "utf8").trim().split("\n"), ["apply failover.table ireland fra"]);

    // Unchanged: nothing runs. Changed: the hook again, the folder switched whole.
    assert.equal(b.run().output, "");
    const oldDir = readlinkSync(dir);
    b.publish(config(b), { "failover.table": "ireland lhr\n", "notes.txt": "no hook for this one\n" });
    assert.equal(b.run().code, 0);
    assert.notEqual(readlinkSync(dir), oldDir);
    assert.ok(!existsSync(join(b.confDir, oldDir)), "the old set is removed");
    // A restart (new Address) runs every hook again on the interface brought up anew.
    b.publish(config(b, { address: "10.70.5.1/24" }), { "failover.table": "ireland lhr\n" });
    const restarted = b.run();
    assert.match(restarted.output, /Address changed: restarting/);
    assert.ok(!existsSync(join(dir, "notes.txt")));
    // Gone: its hook is told to remove.
    b.publish(config(b, { address: "10.70.5.1/24" }));
    assert.equal(b.run().code, 0);
    assert.deepEqual(readFileSync(calls, "utf8").trim().split("\n"), [
      "apply failover.table ireland fra",
      "apply failover.table ireland lhr",
      "apply failover.table ireland lhr",
      "remove",
    ]);
  });
});

syncTest("a new MTU is set on the running interface in place: same process and interface, no restart", () => {
  withBench((b) => {
    upOnAgent(b);
    const before = b.state();
    b.publish(config(b, { mtu: 1300 }));
    const r = b.run();
    assert.equal(r.code, 0, r.output);
    assert.doesNotMatch(r.output, /restart|wg-quick/i);
    assert.match(r.output, /^set MTU 1300 on \S+ in place \(was 1380\)$/m);
    const after = b.state();
    assert.equal(after.mtu, 1300);
    assert.equal(after.pid, before.pid);
    assert.equal(after.ifindex, before.ifindex);
  });
});

syncTest("the bootstrap in the entry replaces a different running one, checked first; one that names another vault is refused", () => {
  withBench((b) => {
    upOnAgent(b);
    const good = b.bootstrap();
    writeFileSync(b.script, good.replace("set -euo pipefail\n", "set -euo pipefail\n: an older bootstrap\n"), { mode: 0o700 });
    const r = b.run();
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /^updated the bootstrap \(\S+\) from file \S+$/m);
    assert.equal(readFileSync(b.script, "utf8"), good);

    // A copy for another vault (the files of another node) is not put in place; the run says so.
    const foreign = shippedBootstrap({ node: b.node, vault: fileVault(join(b.dir, "elsewhere.conf")), interfaceName: b.iface });
    b.publishRaw(renderPayload({ node: b.node, interfaceName: b.iface, config: config(b), agent: agentDelivery(b.agent, undefined).ref, bootstrap: foreign }));
    const refused = b.run();
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, /^the bootstrap in file \S+ does not name this node's vault; the bootstrap here stays as it is$/m);
    assert.equal(readFileSync(b.script, "utf8"), good);
  });
});

/** Today's sync script, as every node deployed before agents runs it (tests/data/legacy). */
function legacyScript(b: Bench): string {
  const template = readFileSync(join(__dirname, "..", "data", "legacy", "wgmesh-sync-ebea300.sh"), "utf8");
  return fillTemplate(template, "file", { IFACE: b.iface, SOURCE: `file ${b.vaultFile}`, SOURCE_FILE: b.vaultFile });
}

syncTest("a node on today's sync script takes the first entry in place, installs the bootstrap from it, and moves to the agent without a restart", () => {
  withBench((b) => {
    writeFileSync(b.script, legacyScript(b), { mode: 0o700 });
    b.publishRaw(config(b));
    const up = b.run();
    assert.equal(up.code, 0, up.output);
    const before = b.state();

    // The deploy of this wg-mesh: the entry now seals wg0.conf with the bootstrap and names the agent.
    b.publish(config(b));
    const taken = b.run();
    assert.equal(taken.code, 0, taken.output);
    assert.match(taken.output, /PostUp\/PostDown changed: running the old PostDown, then the new PostUp/);
    assert.match(taken.output, /applied the new config to \S+ in place/);
    assert.equal(readFileSync(b.script, "utf8"), b.bootstrap(), "the hook put the bootstrap in place of the old script");
    assert.deepEqual(b.state(), before, "nothing on the interface changed");

    // Its next run: the bootstrap installs the agent, which installs wg0.conf without the hook and the entry's lines.
    sleepMs(10);
    const moved = b.run();
    assert.equal(moved.code, 0, moved.output);
    assert.equal(b.agentVersion(), AGENT_VERSION);
    assert.doesNotMatch(moved.output, /restart|PostDown/);
    assert.equal(b.installedConfig(), config(b));
    const after = b.state();
    assert.equal(after.pid, before.pid);
    assert.equal(after.ifindex, before.ifindex);
    assert.equal(readFileSync(b.console, "utf8"), `wgmesh-sync: node bench: installed agent ${AGENT_VERSION} from file ${b.vaultFile}\n`);
    assert.equal(doctor(b).code, 0, doctor(b).output);
  });
});

syncTest("a node whose sync script missed the hook moves by the one command the docs give, without a restart", () => {
  withBench((b) => {
    writeFileSync(b.script, legacyScript(b), { mode: 0o700 });
    b.publishRaw(config(b));
    assert.equal(b.run().code, 0);
    const before = b.state();
    // The entry installed as the old script installs it, its hook never run.
    b.publish(config(b));
    writeFileSync(join(b.confDir, `${b.iface}.conf`), readFileSync(b.vaultFile, "utf8"), { mode: 0o600 });
    const r = spawnSync("bash", ["-c", manualBootstrapCommand(join(b.confDir, `${b.iface}.conf`), b.script, false)], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(b.script, "utf8"), b.bootstrap());
    const moved = b.run();
    assert.equal(moved.code, 0, moved.output);
    assert.equal(b.agentVersion(), AGENT_VERSION);
    assert.equal(b.installedConfig(), config(b));
    assert.deepEqual(b.state(), before);
  });
});
