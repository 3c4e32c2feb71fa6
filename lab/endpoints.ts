/**
 * A config's Endpoints name real hosts (or placeholders). In the lab each one is replaced
 * by the lab address of the node that host stands for, so a config is tested as written but
 * can never send a packet to a real address. Endpoints whose key belongs to no lab node are
 * dropped.
 */
import type { WgQuickConfig } from "../infra/model";
import { plainText, quoteWg } from "../infra/quote";
import { endpointTarget, hostOwners, parseEndpoint, type EndpointUse } from "../infra/simulate/endpoints";

export interface LabAddress {
  host: string;
  port: number;
}

/**
 * Where `from` should send to reach lab node `to` at the port the Endpoint names; undefined when
 * `to` has no ListenPort (it listens on a random port nobody can know).
 */
export type EndpointResolver = (from: string, to: string, port: number) => LabAddress | undefined;

export interface RemappedConfig {
  config: WgQuickConfig;
  /** Why an Endpoint was dropped, for people. */
  notes: string[];
}

export function formatEndpoint(a: LabAddress): string {
  return `${a.host}:${a.port}`;
}

function peerLabel(comment: string | undefined, publicKey: string): string {
  const c = comment?.split("\n").map((l) => l.replace(/^#\s*/, "").trim()).find(Boolean);
  return c ? `${plainText(c, 40)} (${plainText(publicKey.slice(0, 8))}…)` : `${plainText(publicKey.slice(0, 8))}…`;
}

/** Endpoint host -> the lab node answering there, read from the configs as the simulator reads it. */
export function labHostOwners(configs: ReadonlyMap<string, WgQuickConfig>, nodeByPublicKey: ReadonlyMap<string, string>): Map<string, string> {
  const uses: EndpointUse[] = [];
  for (const [from, config] of configs) {
    for (const peer of config.peers) {
      const keyNode = nodeByPublicKey.get(peer.publicKey);
      if (peer.endpoint !== undefined && keyNode !== undefined) uses.push({ from, keyNode, endpoint: peer.endpoint });
    }
  }
  return hostOwners(uses);
}

/**
 * Each Endpoint is sent where it really leads: to the lab node owning its host (see
 * infra/simulate/endpoints.ts) at the port it names. So an Endpoint naming the wrong node or
 * the wrong port fails in the lab as it would on the internet, and the simulator, reading the
 * same files the same way, can be held to what WireGuard then does.
 */
export function remapEndpoints(
  self: string,
  config: WgQuickConfig,
  nodeByPublicKey: ReadonlyMap<string, string>,
  owners: ReadonlyMap<string, string>,
  resolve: EndpointResolver,
): RemappedConfig {
  const notes: string[] = [];
  const peers = config.peers.map((peer) => {
    if (peer.endpoint === undefined) return peer;
    const { endpoint: written, ...rest } = peer;
    const shown = quoteWg(written);
    const keyNode = nodeByPublicKey.get(peer.publicKey);
    if (keyNode === undefined) {
      notes.push(`${self}: Endpoint = ${shown} of peer ${peerLabel(peer.comment, peer.publicKey)} dropped: no lab node has that PublicKey`);
      return rest;
    }
    if (keyNode === self) {
      notes.push(`${self}: Endpoint = ${shown} dropped: the peer is this node itself`);
      return rest;
    }
    const target = endpointTarget(written, keyNode, owners);
    const port = parseEndpoint(written)?.port ?? 0;
    const address = resolve(self, target, port);
    if (!address) {
      notes.push(`${self}: Endpoint = ${shown} of ${keyNode} dropped: ${target} has no ListenPort to send to`);
      return rest;
    }
    return { ...rest, endpoint: formatEndpoint(address) };
  });
  return { config: { iface: config.iface, peers }, notes };
}

/** Node pairs that exchange packets directly: one side names the other's key with an Endpoint. */
export function dialledPairs(configs: ReadonlyMap<string, WgQuickConfig>, nodeByPublicKey: ReadonlyMap<string, string>): [string, string][] {
  const seen = new Set<string>();
  const pairs: [string, string][] = [];
  for (const [from, config] of configs) {
    for (const peer of config.peers) {
      const to = nodeByPublicKey.get(peer.publicKey);
      if (peer.endpoint === undefined || to === undefined || to === from) continue;
      const [a, b] = from < to ? [from, to] : [to, from];
      const key = `${a}\u0000${b}`;
      if (seen.has(key)) continue;
      seen.add(key);
      pairs.push([a, b]);
    }
  }
  return pairs;
}

/**
 * The order to bring nodes up in, as waves: a node that dials a peer which does not dial it back
 * comes after that peer. WireGuard drops an initiation that reaches an interface not yet up and
 * retries only after REKEY_TIMEOUT (5 s), and on a one-way link nobody else starts one, so
 * bringing the dialler up first costs every such link 5 s. Nodes on a cycle of one-way dials
 * (possible only in hand-written configs) go in the last wave.
 */
export function bringUpWaves(configs: ReadonlyMap<string, WgQuickConfig>, nodeByPublicKey: ReadonlyMap<string, string>): string[][] {
  const keyOf = new Map([...nodeByPublicKey].map(([key, node]) => [node, key]));
  const dials = (from: string, to: string): boolean =>
    (configs.get(from)?.peers ?? []).some((p) => p.endpoint !== undefined && p.publicKey === keyOf.get(to));
  const waitsFor = new Map<string, Set<string>>();
  for (const [from, config] of configs) {
    const targets = new Set<string>();
    for (const peer of config.peers) {
      const to = nodeByPublicKey.get(peer.publicKey);
      if (peer.endpoint === undefined || to === undefined || to === from || !configs.has(to) || dials(to, from)) continue;
      targets.add(to);
    }
    waitsFor.set(from, targets);
  }
  const placed = new Set<string>();
  const waves: string[][] = [];
  while (placed.size < configs.size) {
    const wave = [...configs.keys()].filter((n) => !placed.has(n) && [...(waitsFor.get(n) ?? [])].every((t) => placed.has(t)));
    const next = wave.length > 0 ? wave : [...configs.keys()].filter((n) => !placed.has(n));
    next.forEach((n) => placed.add(n));
    waves.push(next);
  }
  return waves;
}
