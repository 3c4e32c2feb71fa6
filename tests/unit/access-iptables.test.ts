/**
 * The iptables rendering of a node's access ruleset (infra/access/iptables.ts) and the iptables side
 * of wgmesh-firewall, offline: both renderings come from the same compiled rules (every rule of every
 * chain, each nft statement expanded into as many iptables rules as its address and port sets hold),
 * what each service means, where `wgmesh render` writes the file, and the script's refusals, run
 * against a stand-in iptables that records every call (so "nothing applied" is checked, not assumed).
 * Real netfilter: tests/lab/access.test.ts and access-differential.test.ts with WGMESH_LAB_FIREWALL=iptables.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { compileAccess, renderRuleset, type CompiledAccess, type NodeRuleset } from "../../infra/access";
import { ACCESS_IPTABLES_FILE, ACCESS_RULESET_FILE } from "../../infra/access/files";
import { IPTABLES_CHAINS, iptablesRulesetHeader, renderIptablesRuleset } from "../../infra/access/iptables";
import { parseMeshConfig } from "../../infra/config";
import { planMesh } from "../../infra/plan";
import { renderMeshFiles } from "../../infra/render/files";
import { nodeFiles } from "../../infra/render/node-files";
import { PROD_POLICY, prodRaw, prodWith } from "../support/prod-access";

const SCRIPT = resolve(__dirname, "..", "..", "infra", "render", "wgmesh-firewall.sh");

/** Per chain, per rule comment: how many iptables rules the nft statements stand for (addresses x ports). */
function nftExpanded(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let chain = "";
  const items = (line: string, re: RegExp): number => {
    const m = re.exec(line);
    if (!m) return 1;
    return m[1]?.startsWith("{") ? m[1].slice(1, -1).split(",").length : 1;
  };
  for (const line of text.split("\n")) {
    const c = /^\tchain (\w+) \{/.exec(line);
    if (c) chain = c[1] as string;
    const comment = /comment "([^"]+)"/.exec(line)?.[1];
    if (!comment) continue;
    const n = items(line, /ip saddr (\{[^}]*\}|\S+)/) * items(line, /ip daddr (\{[^}]*\}|\S+)/) * items(line, /dport (\{[^}]*\}|\S+)/);
    const key = `${chain}\t${comment}`;
    out.set(key, (out.get(key) ?? 0) + n);
  }
  return out;
}

function iptablesRules(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^-A WGMESH-(INPUT|FORWARD) .*--comment "([^"]+)"/.exec(line);
    if (!m) continue;
    const key = `${(m[1] as string).toLowerCase()}\t${m[2]}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

function commentsInOrder(text: string, chain: RegExp): string[] {
  const out: string[] = [];
  for (const line of text.split("\n").filter((l) => chain.test(l))) {
    const c = /comment "([^"]+)"/.exec(line)?.[1];
    if (c && out.at(-1) !== c) out.push(c);
  }
  return out;
}

function nftChain(text: string, name: string): string {
  const start = text.indexOf(`\tchain ${name} {`);
  return start < 0 ? "" : text.slice(start, text.indexOf("\t}", start));
}

const SERVICES_POLICY = {
  groups: { hub: ["ireland"], backends: { roles: ["backend"] } },
  rules: [
    { from: "backends", to: "hub", allow: ["tcp/443", "tcp/8000-8100", "udp", "icmp"] },
    { from: "hub", to: "backends", allow: ["any"] },
  ],
};

test("iptables: every chain holds the nft rendering's rules, in the same order, each nft statement expanded by its address and port sets", () => {
  for (const policy of [PROD_POLICY, SERVICES_POLICY]) {
    const compiled = compileAccess(prodWith(policy)) as CompiledAccess;
    for (const [node, r] of compiled.rulesets) {
      const nft = renderRuleset(r);
      const ipt = renderIptablesRuleset(r);
      assert.deepEqual(iptablesRules(ipt), nftExpanded(nft), `${node}: rules per chain and comment`);
      for (const chain of ["input", "forward"] as const) {
        assert.deepEqual(commentsInOrder(ipt, new RegExp(`^-A ${IPTABLES_CHAINS[chain]} `)), commentsInOrder(nftChain(nft, chain), /comment/), `${node} ${chain}: rule order`);
      }
      // Both chains are always declared (a node that stops forwarding loses its old forward rules); the forward one is empty where nft has none.
      assert.match(ipt, /^:WGMESH-INPUT - \[0:0\]\n:WGMESH-FORWARD - \[0:0\]$/m);
      assert.equal(/-A WGMESH-FORWARD /.test(ipt), r.forward !== undefined, `${node}: forward rules only on a forwarding node`);
    }
    assert.ok([...compiled.rulesets.values()].some((r) => r.forward), "some node forwards");
  }
});

test("iptables: services mean what they mean in nft: ports and ranges, every port, ICMP echo only, every protocol; jumps only from the tunnel", () => {
  const compiled = compileAccess(prodWith(SERVICES_POLICY)) as CompiledAccess;
  const ireland = compiled.rulesets.get("ireland") as NodeRuleset;
  const text = renderIptablesRuleset({ ...ireland, iface: "wg7" }, iptablesRulesetHeader("ireland", 2));
  const input = text.split("\n").filter((l) => l.startsWith("-A WGMESH-INPUT -s 10.50.1.0/24 "));
  assert.deepEqual(input, [
    '-A WGMESH-INPUT -s 10.50.1.0/24 -p tcp -m tcp --dport 443 -m comment --comment "wgmesh rule 1" -j RETURN',
    '-A WGMESH-INPUT -s 10.50.1.0/24 -p tcp -m tcp --dport 8000:8100 -m comment --comment "wgmesh rule 1" -j RETURN',
    '-A WGMESH-INPUT -s 10.50.1.0/24 -p udp -m comment --comment "wgmesh rule 1" -j RETURN',
    '-A WGMESH-INPUT -s 10.50.1.0/24 -p icmp -m icmp --icmp-type echo-request -m comment --comment "wgmesh rule 1" -j RETURN',
  ]);
  // `any`: every protocol, no -p; between the hub and the backends' prefixes in forward.
  assert.match(text, /^-A WGMESH-FORWARD -s 10\.50\.0\.0\/24 -d 10\.50\.1\.0\/24 -m comment --comment "wgmesh rule 2" -j RETURN$/m);
  const lines = text.split("\n");
  assert.deepEqual(lines.slice(0, 3), ["# wg-mesh access ruleset for ireland: 2 rules; generated by wg-mesh, edit access in the stack config, not this file", lines[1], "*filter"]);
  assert.equal(lines.filter((l) => l.startsWith("-A WGMESH-INPUT")).at(0), "-A WGMESH-INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN");
  assert.equal(lines.filter((l) => l.startsWith("-A WGMESH-INPUT")).at(-1), '-A WGMESH-INPUT -m comment --comment "wgmesh drop" -j DROP');
  assert.deepEqual(lines.filter((l) => /^-[IA] (INPUT|FORWARD) /.test(l)), ["-I INPUT 1 -i wg7 -j WGMESH-INPUT", "-I FORWARD 1 -i wg7 -j WGMESH-FORWARD"]);
  assert.deepEqual(lines.slice(-2), ["COMMIT", ""]);
  // Only wg-mesh's chains, and no verdict but RETURN and the final DROP.
  for (const l of lines.filter((x) => x.startsWith("-A "))) assert.match(l, /^-A WGMESH-(INPUT|FORWARD) .* -j (RETURN|DROP)$/);
});

test("render writes wgmesh-access.iptables for external nodes only, beside the nft file; the vault entry keeps the nft file alone", () => {
  const raw = prodRaw();
  const nodes = { ...(raw.nodes as Record<string, Record<string, unknown>>) };
  const { aws: _aws, ...gru } = nodes.gru as Record<string, unknown>;
  nodes.gru = { ...gru, cloud: "external", external: { endpoint: "198.51.100.7" } };
  const plan = planMesh(parseMeshConfig({ ...raw, nodes, access: PROD_POLICY }));
  const files = renderMeshFiles(plan, { project: "wg-mesh", stack: "prod", ephemeralKeys: false });
  const iptables = files.filter((f) => f.path.endsWith(`/${ACCESS_IPTABLES_FILE}`));
  assert.deepEqual(iptables.map((f) => f.path), [`gru/wg0.d/${ACCESS_IPTABLES_FILE}`]);
  assert.ok(iptables[0]?.content.includes("\n*filter\n") && !iptables[0].secret);
  assert.ok(files.some((f) => f.path === `gru/wg0.d/${ACCESS_RULESET_FILE}`), "the nft file is still written for it");
  assert.deepEqual(Object.keys(nodeFiles(plan, "gru", {})), [ACCESS_RULESET_FILE]);
  assert.equal(renderMeshFiles(planMesh(parseMeshConfig({ ...raw, nodes })), { project: "wg-mesh", stack: "prod", ephemeralKeys: false }).filter((f) => f.path.endsWith(ACCESS_IPTABLES_FILE)).length, 0, "no policy: no file");
});

/** wgmesh-firewall with a stand-in iptables (WGMESH_IPTABLES) that logs every call and changes nothing. */
function withFakeIptables(fn: (run: (args: string[]) => { code: number; stdout: string; stderr: string }, calls: () => string[], dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-ipt-"));
  try {
    for (const tool of ["fakeipt", "fakeipt-restore", "fakeipt-save"]) {
      writeFileSync(join(dir, tool), `#!/bin/bash\necho "${tool} $*" >>"${join(dir, "calls")}"\ncat >/dev/null 2>&1 || true\n`);
      chmodSync(join(dir, tool), 0o755);
    }
    const run = (args: string[]) => {
      const r = spawnSync("bash", [SCRIPT, ...args], { encoding: "utf8", env: { PATH: `${dir}:${process.env.PATH}`, WGMESH_IPTABLES: "fakeipt", WGMESH_STATE_DIR: join(dir, "state"), WGMESH_METRICS_DIR: join(dir, "metrics") }, stdio: ["ignore", "pipe", "pipe"] });
      return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    const calls = () => (existsSync(join(dir, "calls")) ? readFileSync(join(dir, "calls"), "utf8").trim().split("\n") : []);
    fn(run, calls, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("wgmesh-firewall refuses an iptables file that touches anything but its own chains: one line, nothing applied", () => {
  const good = renderIptablesRuleset((compileAccess(prodWith()) as CompiledAccess).rulesets.get("ireland") as NodeRuleset);
  const bad: [string, string][] = [
    ["another chain", good.replace("COMMIT\n", "-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n")],
    ["another table", `${good}*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n`],
    ["a jump to another chain", good.replace("COMMIT\n", "-A WGMESH-INPUT -j DOCKER\nCOMMIT\n")],
    ["a policy", good.replace("COMMIT\n", "-P INPUT DROP\nCOMMIT\n")],
    ["another chain's declaration (a flush under --noflush)", good.replace("*filter\n", "*filter\n:INPUT ACCEPT [0:0]\n")],
    ["a chain deleted", good.replace("COMMIT\n", "-X DOCKER\nCOMMIT\n")],
    ["a jump not from the tunnel", good.replace(/-I INPUT 1 -i \S+ /, "-I INPUT 1 ")],
    ["a second target hidden in a rule", good.replace("COMMIT\n", "-A WGMESH-INPUT -j MARK --set-mark 1 -j RETURN\nCOMMIT\n")],
  ];
  withFakeIptables((run, calls, dir) => {
    for (const [what, text] of bad) {
      const file = join(dir, "ruleset.iptables");
      writeFileSync(file, text);
      const r = run(["apply", file]);
      assert.equal(r.code, 1, `${what}: refused`);
      assert.match(r.stderr, /^wgmesh-firewall: \S+ruleset\.iptables line \d+ touches more than the chains WGMESH-INPUT WGMESH-FORWARD of table filter; wgmesh-firewall changes nothing but its own chains\n$/, what);
      assert.deepEqual(calls(), [], `${what}: iptables never ran`);
      assert.equal(existsSync(join(dir, "state")), false, `${what}: no state written`);
    }
    // The good file goes through: tested (--test) then loaded, each once, with --noflush.
    const file = join(dir, "ruleset.iptables");
    writeFileSync(file, good);
    const ok = run(["apply", file]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(
      calls().filter((c) => c.startsWith("fakeipt-restore")),
      ["fakeipt-restore --noflush --test", "fakeipt-restore --noflush"],
    );
    assert.match(readFileSync(join(dir, "state", "access.state"), "utf8"), /^backend=iptables\napplied=[0-9a-f]{64}\n/);
    const dropped = run(["dropped"]);
    assert.equal(dropped.code, 1);
    assert.match(dropped.stderr, /^wgmesh-firewall: dropped flows are recorded by the nftables ruleset only; .*\n$/);
  });
});

test("wgmesh-firewall without iptables-restore: one line naming the package, nothing applied", () => {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-ipt-"));
  try {
    const file = join(dir, "r.iptables");
    writeFileSync(file, renderIptablesRuleset((compileAccess(prodWith()) as CompiledAccess).rulesets.get("gru") as NodeRuleset));
    const r = spawnSync("bash", [SCRIPT, "apply", file], { encoding: "utf8", env: { PATH: process.env.PATH, WGMESH_IPTABLES: "no-such-iptables", WGMESH_STATE_DIR: join(dir, "state") } });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, "wgmesh-firewall: no-such-iptables-restore is not installed, so no iptables ruleset can be enforced; apt-get install iptables\n");
    assert.equal(existsSync(join(dir, "state")), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
