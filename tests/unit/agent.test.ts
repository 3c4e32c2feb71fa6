/**
 * The node agent as its vault secret holds it, and the config entry (payload) that names it: the
 * released version and sha256 the agent is held to, the formats (docs/node-agent.md), and what each
 * refuses. The node's own reading of them runs for real in tests/lab/agent.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { AGENT_VERSION, agentFiles, agentProblem, agentRelease, agentSetText, compareVersions, renderAgentBundle } from "../../infra/render/agent";
import { agentDelivery } from "../../infra/render/agent-parts";
import { shippedBootstrap } from "../../infra/render/cloudinit";
import { parseSealed, seal, sha256 } from "../../infra/render/fileset";
import { bootstrapHook, extraFileProblems, manualBootstrapCommand, parsePayload, renderPayload } from "../../infra/render/payload";
import { fileVault } from "../../infra/vault";
import { parseWgQuick } from "../../infra/wgquick";

const RELEASE = join(__dirname, "..", "..", "infra", "render", "agent-version.json");

const CONFIG = "# hkg (pop)\n[Interface]\nPrivateKey = gI6EdUSYvn8ugXOt8QQD6Yc+JyiZxIhp3GInSWRfWGE=\nAddress = 10.50.5.1/24\nListenPort = 51820\nMTU = 1380\nPostUp = sysctl -w net.ipv4.ip_forward=1\n\n# ireland (hub)\n[Peer]\nPublicKey = HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\nAllowedIPs = 10.50.0.0/16\nEndpoint = 198.51.100.7:51820\n";

function entry(files: Record<string, string> = {}): string {
  return renderPayload({ node: "hkg", config: CONFIG, files, agent: agentDelivery(renderAgentBundle(), undefined).ref, bootstrap: shippedBootstrap({ node: "hkg", vault: fileVault("/v/wg0.conf") }) });
}

test("the agent is the version and sha256 it was released as: change its files, raise the version and record the sha256", () => {
  const release = agentRelease(readFileSync(RELEASE, "utf8"));
  const agent = renderAgentBundle();
  assert.equal(release.version, AGENT_VERSION);
  assert.equal(
    agent.sha256,
    release.sha256,
    `the agent's files changed since ${AGENT_VERSION} was released: nodes running ${AGENT_VERSION} would refuse it as "a changed agent needs a new version". ` +
      `Raise version in infra/render/agent-version.json (a node never goes back), then set its sha256 to what renderAgentBundle() gives for it`,
  );
});

test("the agent secret: base64 of gzip of the sealed set, checked by its sha256 before anything reads it; the same bytes every time", () => {
  const agent = renderAgentBundle();
  assert.equal(agent.sha256, sha256(agent.value));
  assert.equal(agent.bytes, Buffer.byteLength(agent.value));
  assert.match(agent.value, /^[A-Za-z0-9+/]+=*$/);
  const text = gunzipSync(Buffer.from(agent.value, "base64")).toString("utf8");
  assert.equal(text, agentSetText(AGENT_VERSION, agentFiles()));
  assert.equal(text.split("\n")[0], `#@wgmesh agent-set 1 ${AGENT_VERSION}`);
  assert.match(text.split("\n")[1] ?? "", /^#@wgmesh file wgmesh-sync 0755 [0-9a-f]{64}$/, "the bootstrap takes the installer from the first file");
  const set = parseSealed(text);
  assert.deepEqual(
    set.files.map((f) => f.name),
    // The installer first, then by name: the hooks of the files riding with wg0.conf (failover table,
    // access ruleset), the units, the node's command and the failover watchdog.
    ["wgmesh-sync", "hooks/failover.conf", "hooks/wgmesh-access.nft", "unit/wgmesh-access-metrics.service", "unit/wgmesh-access-metrics.timer", "unit/wgmesh-watchdog.service", "wgmesh", "wgmesh-watchdog"],
  );
  assert.deepEqual(set.files, agentFiles());
  assert.equal(renderAgentBundle(AGENT_VERSION, agentFiles()).value, agent.value);
});

test("an agent's files are refused in one line when they could not be one", () => {
  const files = agentFiles();
  assert.equal(agentProblem("1.2.3", files), undefined);
  assert.match(agentProblem("1.2", files) ?? "", /is not MAJOR\.MINOR\.PATCH/);
  assert.match(agentProblem("1.2.3", files.filter((f) => f.name !== "wgmesh")) ?? "", /an agent needs wgmesh$/);
  assert.match(agentProblem("1.2.3", [...files, { name: "unit/wgmesh-sync.timer", mode: "0644", content: "[Unit]\n" }]) ?? "", /wgmesh-sync's own units are the bootstrap's/);
  assert.match(agentProblem("1.2.3", [...files, { name: "../etc/passwd", mode: "0644", content: "x\n" }]) ?? "", /an agent has wgmesh-sync, wgmesh, wgmesh-watchdog, unit\/wgmesh-NAME/);
  assert.match(agentProblem("1.2.3", [...files, { name: "hooks/x", mode: "0755", content: "no newline" }]) ?? "", /does not end with a newline/);
  assert.ok(agentProblem("1.2.3", [...files, { name: "unit/wgmesh-extra.service", mode: "0644", content: "[Unit]\n" }, { name: "hooks/extra.table", mode: "0755", content: "#!/bin/bash\n" }]) === undefined);
  assert.match(agentProblem("1.2.3", [...files, { name: "unit/wgmesh-watchdog.service", mode: "0644", content: "[Unit]\n" }]) ?? "", /comes twice/);
  assert.match(agentProblem("1.2.3", [...files, { name: "unit/ssh.service", mode: "0644", content: "[Unit]\n" }]) ?? "", /unit\/wgmesh-NAME/, "an agent never replaces another's unit");
  assert.equal(compareVersions("0.10.0", "0.9.9"), 1);
  assert.equal(compareVersions("1.0.0", "1.0.0"), 0);
  assert.equal(compareVersions("1.2.3", "1.10.0"), -1);
});

test("the entry: wg0.conf, the bootstrap hook last in [Interface], then the sealed lines; read back whole", () => {
  const text = entry({ "failover.table": "ireland fra\nhkg sin\n" });
  const p = parsePayload(text);
  assert.equal(p.node, "hkg");
  assert.equal(p.interfaceName, "wg0");
  assert.equal(p.config, CONFIG);
  assert.deepEqual(p.files, { "failover.table": "ireland fra\nhkg sin\n" });
  assert.equal(p.bootstrap, shippedBootstrap({ node: "hkg", vault: fileVault("/v/wg0.conf") }));
  const agent = renderAgentBundle();
  assert.deepEqual(p.agent, { version: agent.version, sha256: agent.sha256, bytes: agent.bytes, parts: 1 });
  const lines = text.split("\n");
  const hook = lines.findIndex((l) => l.startsWith("PostUp = : wgmesh-bootstrap-hook;"));
  assert.equal(lines[hook - 1], "PostUp = sysctl -w net.ipv4.ip_forward=1", "after the [Interface]'s own settings");
  assert.equal(lines[hook + 1], "", "before the first [Peer]");
  assert.match(lines.at(-2) ?? "", /^#@wgmesh end [0-9a-f]{64}$/);
  assert.equal(entry({ "failover.table": "ireland fra\nhkg sin\n" }), text, "the same bytes every time");
});

test("the entry is a wg-quick file: every line after wg0.conf a comment, the hook a PostUp wg-quick and today's sync script read whole", () => {
  const text = entry({ "netfilter.rules": "*filter\n-A FORWARD -i wg0 -j ACCEPT\n# a comment of the file\nCOMMIT\n" });
  const conf = parseWgQuick(text, "entry");
  const plain = parseWgQuick(CONFIG, "wg0.conf");
  assert.deepEqual(conf.peers, plain.peers);
  assert.deepEqual(conf.iface.postUp.slice(0, -1), plain.iface.postUp);
  const hook = conf.iface.postUp.at(-1) as string;
  assert.equal(hook, bootstrapHook(sha256(shippedBootstrap({ node: "hkg", vault: fileVault("/v/wg0.conf") }))).replace(/^PostUp = /, ""));
  // wg-quick cuts a value at '#', and substitutes %i: the hook has neither.
  assert.doesNotMatch(hook, /#|%/);
  for (const line of text.slice(text.indexOf("#@wgmesh payload")).trimEnd().split("\n")) assert.match(line, /^#/, line);
});

test("what cannot ride with a config is refused, one line per file; a config may not hold the entry's own lines", () => {
  assert.deepEqual(extraFileProblems({ "failover.table": "a\n", "empty": "" }), []);
  assert.deepEqual(extraFileProblems({ "../x": "a\n", "@bootstrap": "a\n", "A": "a\n", "dir/x": "a\n" }).length, 4);
  assert.match(extraFileProblems({ "r.txt": "a\r\n" })[0] ?? "", /carriage return/);
  assert.match(extraFileProblems({ "r.txt": "a" })[0] ?? "", /does not end with a newline/);
  assert.throws(() => entry({ "bad name": "x\n" }), /renderPayload: file name "bad name" is not usable/);
  assert.throws(
    () => renderPayload({ node: "hkg", config: `${CONFIG}#@wgmesh end 00\n`, agent: agentDelivery(renderAgentBundle(), undefined).ref, bootstrap: "#!/bin/bash\n" }),
    /a line starting with #@wgmesh or #\|/,
  );
});

test("a sealed text is refused cut short, altered, or with a file that does not match its sha256", () => {
  const text = seal("#@wgmesh file a 0600 " + sha256("x\n") + "\n#|x\n");
  assert.equal(parseSealed(text).files[0]?.content, "x\n");
  assert.throws(() => parseSealed(text.slice(0, -10)), /truncated/);
  assert.throws(() => parseSealed(text.replace("#|x", "#|y")), /does not match its end line's sha256/);
  const lying = seal("#@wgmesh file a 0600 " + sha256("y\n") + "\n#|x\n");
  assert.throws(() => parseSealed(lying), /file a does not match its sha256/);
  const twice = seal(`#@wgmesh file a 0600 ${sha256("")}\n#@wgmesh file a 0600 ${sha256("")}\n`);
  assert.throws(() => parseSealed(twice), /file a comes twice/);
});

test("docs/node-agent.md gives the by-hand move to the bootstrap as the engine makes it", () => {
  const page = readFileSync(join(__dirname, "..", "..", "docs", "node-agent.md"), "utf8");
  assert.ok(page.includes(`sudo bash -c '${manualBootstrapCommand().replace(/'/g, "'\\''")}'`), "the command in the page is manualBootstrapCommand()");
});
