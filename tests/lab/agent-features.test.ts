/**
 * What the node agent carries for failover and access, on one node with the real bootstrap and agent
 * on real WireGuard in a namespace made here (tests/support/sync-bench.ts): the failover table and the
 * access ruleset ride with wg0.conf, the agent installs them in wg0.d/, hands them to their hooks, runs
 * the watchdog it ships (which fails over on its own table) and the doctor names what it sees; the
 * ruleset is loaded into nftables in place and taken out when the policy goes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { compileAccess } from "../../infra/access/compile";
import { ACCESS_RULESET_FILE } from "../../infra/access/files";
import { renderRuleset, rulesetHeader } from "../../infra/access/nft";
import { FAILOVER_FILE, renderFailover } from "../../infra/failover/format";
import { AGENT_VERSION } from "../../infra/render/agent";
import { prodWith } from "../support/prod-access";
import { config, peerKeys, syncTest, withBench, type Bench, type Run } from "../support/sync-bench";

function inNs(b: Bench, cmd: string, args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync("ip", ["netns", "exec", b.ns, cmd, ...args], { encoding: "utf8", env: { ...process.env, ...b.env(), ...env } });
  return { code: r.status ?? 1, output: `${r.stdout}${r.stderr}` };
}

const doctor = (b: Bench): Run => inNs(b, join(b.bin, "wgmesh"), ["doctor"], { WGMESH_SYNC_PERIOD: "1" });

/** gru carries a site behind it (10.50.3.0/24); when gru goes silent, iad takes that site. */
const GRU_SITE = "10.50.3.0/24";
function resilientConfig(b: Bench): string {
  return config(b, {
    peers: [
      { publicKey: peerKeys[0] as string, allowedIps: ["10.50.1.1/32", GRU_SITE], endpoint: "198.18.1.2:51820", comment: "gru" },
      { publicKey: peerKeys[1] as string, allowedIps: ["10.50.2.0/24", "10.50.5.7/32"], comment: "iad" },
    ],
  });
}
// As the renderer writes it (the watchdog is tested on the format wg-mesh ships), with a quick clock.
const TABLE = renderFailover(
  "bench",
  [{ lost: "gru", address: "10.50.1.1", peers: [{ name: "iad", allowedIps: ["10.50.2.0/24", "10.50.5.7/32", GRU_SITE] }] }],
  { gru: peerKeys[0] as string, iad: peerKeys[1] as string },
  { interval: 1, downAfter: 1, upAfter: 2 },
) as string;

syncTest("failover.conf rides with wg0.conf: installed in wg0.d, its hook run, the agent's watchdog fails over on it and the doctor names it", () => {
  withBench((b) => {
    b.publish(resilientConfig(b), { [FAILOVER_FILE]: TABLE });
    const first = b.run();
    assert.equal(first.code, 0, first.output);
    assert.equal(readFileSync(join(b.confDir, `${b.iface}.d`, FAILOVER_FILE), "utf8"), TABLE);
    assert.match(first.output, /^failover\.conf: applied by its hook$/m);
    // The agent's unit starts the watchdog of this agent's version (a new agent restarts it).
    const unit = readFileSync(join(b.units, "wgmesh-watchdog.service"), "utf8");
    assert.match(unit, new RegExp(`^ExecStart=/usr/local/lib/wgmesh/agents/${AGENT_VERSION.replace(/\./g, "\\.")}/wgmesh-watchdog$`, "m"));
    const watchdog = join(b.lib, "current", "wgmesh-watchdog");
    assert.ok(statSync(watchdog).mode & 0o100, "the watchdog is executable");

    // No watchdog has run: the doctor says this node would not fail over.
    assert.match(doctor(b).output, /wgmesh-watchdog has not run here \(.*is missing\), so this node would not fail over; fix: systemctl restart wgmesh-watchdog/);

    // The agent's own watchdog, as its unit runs it (the interface from the bootstrap, no WGMESH_IFACE):
    // gru never answers (nothing is there), so after the startup grace it moves gru's site to iad.
    const ran = inNs(b, "bash", [watchdog], { WGMESH_WATCHDOG_RUNS: "6" });
    assert.equal(ran.code, 0, ran.output);
    assert.match(ran.output, /failover: gru not answering for \d+ s .*AllowedIPs of iad set from failover\.conf/);
    const live = b.state().peers;
    assert.deepEqual(live[peerKeys[1] as string], ["10.50.2.0/24", GRU_SITE, "10.50.5.7/32"].sort());
    assert.deepEqual(live[peerKeys[0] as string], ["10.50.1.1/32"]);

    // The doctor names the failover (what moved, via whom, since when, who is silent) and not the
    // AllowedIPs the watchdog changed on purpose.
    const seen = doctor(b);
    assert.equal(seen.code, 1, seen.output);
    assert.match(seen.output, new RegExp(`failover active: ${GRU_SITE.replace(/\./g, "\\.")} via iad since \\d\\d:\\d\\d:\\d\\d, gru not answering; fix: bring gru \\(or the link to it\\) back`));
    assert.doesNotMatch(seen.output, /has AllowedIPs = /);

    // A wgmesh-sync run in between keeps the interface as it is (the entry did not change).
    assert.equal(b.run().output, "");
    // Restarted (as a new agent restarts its unit), the watchdog takes the failover up from its state.
    const again = inNs(b, "bash", [watchdog], { WGMESH_WATCHDOG_RUNS: "1" });
    assert.match(again.output, /still routing around gru \(since \d\d:\d\d:\d\d\), as before this restart/);

    // The mesh is no longer resilient: the table goes, its hook is told to remove.
    b.publish(resilientConfig(b));
    const gone = b.run();
    assert.equal(gone.code, 0, gone.output);
    assert.ok(!existsSync(join(b.confDir, `${b.iface}.d`, FAILOVER_FILE)));
  });
});

syncTest("the access ruleset rides with wg0.conf: loaded into nftables in place by the agent's wgmesh-firewall, checked by the doctor, removed when the policy goes", () => {
  withBench((b) => {
    const plan = prodWith();
    const compiled = compileAccess(plan, { iface: () => b.iface });
    assert.ok(compiled);
    const ruleset = renderRuleset(compiled.rulesets.get("hkg") as NonNullable<ReturnType<typeof compiled.rulesets.get>>, rulesetHeader("hkg", compiled.spec.rules.length));
    b.publish(config(b), { [ACCESS_RULESET_FILE]: ruleset });
    const before = b.run();
    assert.equal(before.code, 0, before.output);
    assert.match(before.output, /^wgmesh-access\.nft: applied by its hook$/m);
    const pid = b.state().pid;
    assert.equal(inNs(b, "nft", ["list", "table", "inet", "wgmesh"]).code, 0, "the table is loaded");
    assert.match(readFileSync(join(b.units, "wgmesh-access-metrics.timer"), "utf8"), /^OnUnitActiveSec=1min$/m);
    assert.equal(readlinkSync(join(b.bin, "wgmesh-firewall")), join(b.lib, "current", "hooks", ACCESS_RULESET_FILE));
    const healthy = doctor(b);
    assert.doesNotMatch(healthy.output, /access:/, healthy.output);

    // Changed by hand: the doctor names it with the fix.
    assert.equal(inNs(b, "nft", ["add", "rule", "inet", "wgmesh", "input", "accept"]).code, 0);
    assert.match(doctor(b).output, /access: the live table inet wgmesh differs from the ruleset applied \(changed by hand\?\): wgmesh-firewall apply /);

    // The policy goes: the table goes, the tunnel was never restarted.
    b.publish(config(b));
    const after = b.run();
    assert.equal(after.code, 0, after.output);
    assert.notEqual(inNs(b, "nft", ["list", "table", "inet", "wgmesh"]).code, 0, "the table is removed");
    assert.equal(b.state().pid, pid, "no tunnel restart");
    assert.doesNotMatch(doctor(b).output, /access:/);
  });
});
