/**
 * The node agent as its vault secret holds it: the agent's files (its sync script and the node's
 * `wgmesh` command; units and apply hooks when it has them) as one sealed file set (./fileset.ts),
 * gzip-compressed and base64-encoded, and the version and sha256 every node's config names it by.
 *
 * Compressed because Azure Key Vault takes 25 KB per secret and the agent is more than that as text;
 * by wg-mesh's own deflate (./gzip.ts) because a secret's value must keep every byte from one machine
 * and Node.js to the next, or every `pulumi up` from another laptop would write every node's agent
 * secret anew. The sha256 is of the value as stored, so a node checks it before decompressing a byte.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AgentValue } from "./agent-parts";
import { gzip } from "./gzip";
import { fileProblem, HEADER, seal, sha256, fileLines, type SetFile } from "./fileset";
import { NODE_COMMAND_NAME, shippedNodeCommand } from "./node-command";
import { shipScript } from "./shipped";
import { renderAgentSyncScript } from "./sync-script";
import { featureAgentFiles } from "./watchdog";

const VERSION = /^\d{1,6}\.\d{1,6}\.\d{1,6}$/;

/** Where the agent's version is kept: a data file, so `wgmesh diff` reads the version any git ref released. */
export const AGENT_VERSION_FILE = "infra/render/agent-version.json";

/**
 * The agent's version. A node replaces its agent when its config names another version, and refuses
 * one older than its own: change the agent's files, raise it (tests/unit/agent.test.ts holds the
 * agent to the version and sha256 it was released as).
 */
export const AGENT_VERSION: string = agentRelease(readFileSync(join(__dirname, "agent-version.json"), "utf8")).version;

/** The version and sha256 an agent-version.json gives, from its text (this tree's or a git ref's). */
export function agentRelease(text: string): { version: string; sha256: string } {
  const release = JSON.parse(text) as { version?: unknown; sha256?: unknown };
  if (typeof release.version !== "string" || !VERSION.test(release.version)) throw new Error(`${AGENT_VERSION_FILE}: version ${JSON.stringify(release.version)} is not MAJOR.MINOR.PATCH`);
  return { version: release.version, sha256: String(release.sha256 ?? "") };
}

/** -1, 0 or 1 as dotted version a is older than, the same as or newer than b. */
export function compareVersions(a: string, b: string): number {
  const x = a.split(".").map(Number);
  const y = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0) ? -1 : 1;
  return 0;
}

export type { AgentRef } from "./agent-parts";

export interface AgentBundle extends AgentValue {
  files: SetFile[];
}

/** The agent's own files; units go in unit/, apply hooks in hooks/ (docs/node-agent.md). */
// Units are named wgmesh-*: an agent installs them in /etc/systemd/system and must never overwrite another's.
const AGENT_FILE = /^(wgmesh-sync|wgmesh|wgmesh-watchdog|unit\/wgmesh-[a-z0-9._-]+\.(service|timer|path)|hooks\/[a-z0-9][a-z0-9._-]*)$/;

/** The files of this version of the agent, as a node installs them. */
export function agentFiles(version = AGENT_VERSION): SetFile[] {
  return [
    { name: "wgmesh-sync", mode: "0755", content: shipScript(renderAgentSyncScript(version), "node agent, from infra/render/wgmesh-sync.sh") },
    // The rest in the order a sealed set keeps them (by name), so the files read back are these.
    ...[{ name: NODE_COMMAND_NAME, mode: "0755" as const, content: shippedNodeCommand() }, ...featureAgentFiles(version)].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  ];
}

/** Why a set of agent files cannot be an agent, or undefined. */
export function agentProblem(version: string, files: readonly SetFile[]): string | undefined {
  if (!VERSION.test(version)) return `agent version ${JSON.stringify(version)} is not MAJOR.MINOR.PATCH`;
  const names = new Set<string>();
  for (const f of files) {
    if (!AGENT_FILE.test(f.name)) return `agent file ${JSON.stringify(f.name)}: an agent has wgmesh-sync, wgmesh, wgmesh-watchdog, unit/wgmesh-NAME.service|timer|path and hooks/NAME`;
    if (/^unit\/wgmesh-sync\./.test(f.name)) return `agent file ${f.name}: wgmesh-sync's own units are the bootstrap's, never an agent's`;
    if (names.has(f.name)) return `agent file ${f.name} comes twice`;
    names.add(f.name);
    const problem = fileProblem(f);
    if (problem) return problem;
  }
  for (const required of ["wgmesh-sync", NODE_COMMAND_NAME]) if (!names.has(required)) return `an agent needs ${required}`;
  return undefined;
}

/** The sealed text of an agent: its header line, then its files in name order. */
export function agentSetText(version: string, files: readonly SetFile[]): string {
  const problem = agentProblem(version, files);
  if (problem) throw new Error(problem);
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // wgmesh-sync first: the bootstrap takes the agent's installer from the first file of that name.
  sorted.sort((a, b) => Number(b.name === "wgmesh-sync") - Number(a.name === "wgmesh-sync"));
  return seal([`${HEADER} agent-set 1 ${version}`, ...sorted.flatMap(fileLines)].map((l) => `${l}\n`).join(""));
}

const bundles = new Map<string, AgentBundle>();

/** The agent secret's value and the reference a config gives to it. */
export function renderAgentBundle(version = AGENT_VERSION, files: readonly SetFile[] = agentFiles(version)): AgentBundle {
  const text = agentSetText(version, files);
  const cached = bundles.get(text);
  if (cached) return cached;
  const value = gzip(text).toString("base64");
  const bundle = { version, sha256: sha256(value), bytes: Buffer.byteLength(value), value, files: [...files] };
  if (bundles.size > 16) bundles.clear();
  bundles.set(text, bundle);
  return bundle;
}

let deployed: AgentBundle | undefined;

/**
 * The agent a deploy writes to every node's vault: the one place the components, the plan's size
 * check and the cost estimate take it from. This release's agent, unless a test run of the stack
 * program put another in its place (the mock runner's `agent` option, as the lab takes one).
 */
export function deployedAgent(): AgentBundle {
  return deployed ?? renderAgentBundle();
}

/** Test runs only (stacks/synth/run.ts): `agent` as deployedAgent() until called again with undefined. */
export function useDeployedAgent(agent: AgentBundle | undefined): void {
  deployed = agent;
}
