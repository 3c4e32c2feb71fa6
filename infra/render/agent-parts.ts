/**
 * The node agent's secret in parts: when the agent's value (base64 of its gzip, ./agent.ts) is larger
 * than one secret of a node's vault may be (Azure Key Vault: 25,000 bytes; infra/limits.ts), it is
 * written as several secrets, each a slice of the value in order, and the entry's agent line says how
 * many (`#@wgmesh agent VERSION SHA256 BYTES PARTS`). The sha256 and size the line gives are of the
 * whole joined value: a node fetches parts 1..PARTS, joins them and checks the sha256 before it
 * decompresses a byte, so a part missing, short or altered is "not the agent the config names".
 *
 * Part 1 is the agent secret as it always was (so nothing deployed is replaced); part i >= 2 is the
 * same name with `-i` appended (agentPartName): the bootstrap and the agent's wgmesh-sync fetch
 * `$AGENT_SECRET-$i` by the same rule, and the lab's stand-ins serve the names this module gives.
 */
import { vaultLimit } from "../limits";
import type { Cloud } from "../model";

/** At most this many parts: an agent needing more is refused at plan time (infra/plan/sizes.ts). */
export const AGENT_MAX_PARTS = 4;

/** How many secrets an agent value of `bytes` takes in `cloud`'s vault; 1 where there is no vault limit. */
export function agentPartCount(cloud: Cloud | undefined, bytes: number): number {
  const limit = cloud === undefined ? undefined : vaultLimit(cloud);
  return limit ? Math.max(1, Math.ceil(bytes / limit.bytes)) : 1;
}

/** The value cut into `parts` slices in order, as even as can be (each within the limit that gave the count). */
export function agentPartValues(value: string, parts: number): string[] {
  if (!Number.isInteger(parts) || parts < 1) throw new Error(`agentPartValues: ${parts} is not a part count`);
  // base64 is ASCII: a character is a byte. The first (length % parts) slices take one more, so none is empty.
  const size = Math.floor(value.length / parts);
  const longer = value.length % parts;
  const start = (i: number): number => i * size + Math.min(i, longer);
  return Array.from({ length: parts }, (_, i) => value.slice(start(i), start(i + 1)));
}

/** The name of part `part` (1-based) of the agent secret named `base`: `base` itself, then `base-2`, `base-3`, ... */
export function agentPartName(base: string, part: number): string {
  if (!Number.isInteger(part) || part < 1 || part > AGENT_MAX_PARTS) throw new Error(`agentPartName: part ${part} is not 1-${AGENT_MAX_PARTS}`);
  return part === 1 ? base : `${base}-${part}`;
}

/** The names of every part of an agent in `parts` parts. */
export function agentPartNames(base: string, parts: number): string[] {
  return Array.from({ length: parts }, (_, i) => agentPartName(base, i + 1));
}

/** Which part of the agent secret `base` a secret named `name` is (1-AGENT_MAX_PARTS), or undefined. */
export function agentPartOf(name: string, base: string): number | undefined {
  for (let part = 1; part <= AGENT_MAX_PARTS; part++) if (agentPartName(base, part) === name) return part;
  return undefined;
}

/**
 * What a config says about its agent: the payload's `#@wgmesh agent VERSION SHA256 BYTES PARTS` line.
 * The sha256 and bytes are of the whole value; PARTS is how many secrets it is written in for this
 * node's vault. (Here rather than in ./agent.ts, which infra/vault.ts must not import: no import circles.)
 */
export interface AgentRef {
  version: string;
  sha256: string;
  bytes: number;
  parts: number;
}

/** An agent as ./agent.ts renders it: its reference without the part count, and the value. */
export interface AgentValue extends Omit<AgentRef, "parts"> {
  /** The secret's value: base64 of the gzip of the sealed file set. */
  value: string;
}

/** An agent as one node's vault takes it: the entry's reference (with its part count) and the parts' values in order. */
export interface AgentDelivery {
  ref: AgentRef;
  values: string[];
}

/** `agent` for a node on `cloud` (undefined: a vault without a limit, the lab's files). */
export function agentDelivery(agent: AgentValue, cloud: Cloud | undefined): AgentDelivery {
  const parts = agentPartCount(cloud, agent.bytes);
  return { ref: { version: agent.version, sha256: agent.sha256, bytes: agent.bytes, parts }, values: agentPartValues(agent.value, parts) };
}
