/**
 * A node's vault entry, the config payload: its wg0.conf and the files riding with it (a failover
 * table, a netfilter ruleset, ...), sealed as one (./fileset.ts), naming its node and the agent it
 * should run. `renderPayload` is the one function that makes it, from wg0.conf plus a map of files.
 *
 * A payload is also a wg-quick file: everything after wg0.conf is a comment, and its first extra line
 * is a PostUp (BOOTSTRAP_HOOK) that only the sync script of nodes deployed before node agents ever
 * runs. That script applies the payload as wg0.conf, in place, and on a new PostUp runs it: it writes
 * the payload's copy of the node's bootstrap over itself, and from the next minute the bootstrap
 * installs the agent. An agent drops the hook and the lines after wg0.conf before it installs the
 * file, and never runs the hook. (The hook holds no `#`, which wg-quick would read as a comment.)
 */
import type { AgentRef } from "./agent";
import { AGENT_MAX_PARTS } from "./agent-parts";
import { HEADER, parseSealed, seal, fileLines, sha256, type SetFile } from "./fileset";
import { checkedInterfaceName, checkedNodeName, SYNC_SCRIPT_PATH } from "./sync-script";

export const PAYLOAD_FORMAT = 1;
/** The name the bootstrap's copy travels under; no extra file may take it. */
export const BOOTSTRAP_FILE = "@bootstrap";
const EXTRA_FILE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/**
 * The hook, for a bootstrap whose sha256 is `sha`: run by today's sync script in place of a new
 * PostUp (with $CONF the payload it just installed) or by wg-quick (with $CONFIG_FILE); it checks the
 * copy's sha256 before it replaces the sync script with it, by one rename. WGMESH_SYNC is for tests.
 */
export function bootstrapHook(sha: string): string {
  return [
    "PostUp = : wgmesh-bootstrap-hook",
    `t=\${WGMESH_SYNC:-${SYNC_SCRIPT_PATH}}`,
    `awk 'index($0, "@wgmesh file ${BOOTSTRAP_FILE} ") == 2 { o = 1; next } index($0, "@wgmesh ") == 2 { o = 0 } o { print substr($0, 3) }' "\${CONFIG_FILE:-$CONF}" >"$t.new"`,
    `test "$(sha256sum <"$t.new")" = "${sha}  -" && chmod 755 "$t.new" && mv -f "$t.new" "$t"`,
  ].join("; ");
}

/**
 * The same by hand, for a node whose sync script missed the hook: the entry's bootstrap copy, read from
 * the wg0.conf that script installed, put in place of the script; the next timer run installs the agent.
 * docs/node-agent.md gives it (tests/unit/agent.test.ts holds the page to this).
 */
export function manualBootstrapCommand(conf = "/etc/wireguard/wg0.conf", target = SYNC_SCRIPT_PATH, start = true): string {
  return [
    `awk 'index($0,"@wgmesh file ${BOOTSTRAP_FILE} ")==2{o=1;next} index($0,"@wgmesh ")==2{o=0} o{print substr($0,3)}' ${conf} >${target}.new`,
    `bash -n ${target}.new`,
    `chmod 755 ${target}.new`,
    `mv ${target}.new ${target}`,
    ...(start ? ["systemctl start wgmesh-sync"] : []),
  ].join(" && ");
}

export interface PayloadInput {
  node: string;
  /** wg-quick interface name; wg0 by default. */
  interfaceName?: string;
  /** The node's wg0.conf as rendered. */
  config: string;
  /** Files riding with the config, by name (1-63 of a-z, 0-9, '.', '_', '-'): installed beside wg0.conf and handed to the agent's apply hook of that name. */
  files?: Readonly<Record<string, string>>;
  agent: AgentRef;
  /** The node's bootstrap as its user data installs it (shipped text). */
  bootstrap: string;
}

/** Why a map of extra files cannot ride with a config, one line per file. */
export function extraFileProblems(files: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    if (!EXTRA_FILE.test(name)) {
      out.push(`file name ${JSON.stringify(name)} is not usable: use 1-63 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit`);
      continue;
    }
    try {
      fileLines({ name, mode: "0600", content });
    } catch (e) {
      out.push((e as Error).message);
    }
  }
  return out;
}

/** wg0.conf with the hook as the last line of its [Interface] section. */
function withHook(config: string, hook: string): string {
  const lines = config.endsWith("\n") ? config.slice(0, -1).split("\n") : config.split("\n");
  const start = lines.findIndex((l) => /^\s*\[interface\]\s*$/i.test(l));
  if (start < 0) throw new Error("renderPayload: the config has no [Interface] section");
  let at = start + 1;
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i] as string;
    if (/^\s*\[/.test(l)) break;
    if (/^\s*[^#\s]/.test(l)) at = i + 1;
  }
  lines.splice(at, 0, hook);
  return `${lines.join("\n")}\n`;
}

function agentParts(parts: number): number {
  if (!Number.isInteger(parts) || parts < 1 || parts > AGENT_MAX_PARTS) throw new Error(`renderPayload: agent parts ${parts} is not 1-${AGENT_MAX_PARTS}`);
  return parts;
}

/** The node's vault entry: wg0.conf plus `files`, the bootstrap's copy and the agent it should run. */
export function renderPayload(p: PayloadInput): string {
  const node = checkedNodeName(p.node);
  const iface = checkedInterfaceName(p.interfaceName);
  const files = p.files ?? {};
  const problems = extraFileProblems(files);
  if (problems.length > 0) throw new Error(`renderPayload: ${problems.join("; ")}`);
  if (/^#@wgmesh |^#\|/m.test(p.config)) throw new Error("renderPayload: the config has a line starting with #@wgmesh or #|, which only the payload's own lines may");
  const bootstrap: SetFile = { name: BOOTSTRAP_FILE, mode: "0755", content: p.bootstrap };
  const extra: SetFile[] = Object.keys(files)
    .sort()
    .map((name) => ({ name, mode: "0600", content: files[name] as string }));
  const lines = [
    `${HEADER} payload ${PAYLOAD_FORMAT} ${node} ${iface}`,
    `${HEADER} agent ${p.agent.version} ${p.agent.sha256} ${p.agent.bytes} ${agentParts(p.agent.parts)}`,
    ...[bootstrap, ...extra].flatMap(fileLines),
  ];
  return seal(withHook(p.config, bootstrapHook(sha256(p.bootstrap))) + lines.map((l) => `${l}\n`).join(""));
}

export interface Payload {
  node: string;
  interfaceName: string;
  /** wg0.conf as an agent installs it: without the hook and the lines after it. */
  config: string;
  agent: AgentRef;
  bootstrap: string;
  files: Record<string, string>;
}

/** A payload read as an agent reads it; throws with what is wrong. For tests and tools: nodes read it in bash. */
export function parsePayload(text: string): Payload {
  const set = parseSealed(text);
  const head = set.headers.find((h) => h[0] === "payload");
  if (!head || head.length !== 4 || head[1] !== String(PAYLOAD_FORMAT)) throw new Error("no payload line of format 1");
  const agent = set.headers.find((h) => h[0] === "agent");
  if (!agent || agent.length !== 5 || !/^[1-9]$/.test(agent[4] as string)) throw new Error("no agent line");
  const bootstrap = set.files.find((f) => f.name === BOOTSTRAP_FILE);
  return {
    node: head[2] as string,
    interfaceName: head[3] as string,
    config: set.preamble
      .split("\n")
      .filter((l) => !l.startsWith("PostUp = : wgmesh-bootstrap-hook;"))
      .join("\n"),
    agent: { version: agent[1] as string, sha256: agent[2] as string, bytes: Number(agent[3]), parts: Number(agent[4]) },
    bootstrap: bootstrap?.content ?? "",
    files: Object.fromEntries(set.files.filter((f) => f.name !== BOOTSTRAP_FILE).map((f) => [f.name, f.content])),
  };
}
