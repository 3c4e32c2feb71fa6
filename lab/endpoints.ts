/**
 * A config's Endpoints name real hosts (or placeholders). In the lab each one is replaced
 * by the lab address of the node that owns the peer's public key, so a config is tested
 * as written but can never send a packet to a real address. Endpoints whose key belongs
 * to no lab node are dropped.
 */
import type { WgQuickConfig } from "../infra/model";

export interface LabAddress {
  host: string;
  port: number;
}

/** Where `from` should send to reach `to`; undefined when `to` has no ListenPort to send to. */
export type EndpointResolver = (from: string, to: string) => LabAddress | undefined;

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
  return c ? `${c} (${publicKey.slice(0, 8)}…)` : `${publicKey.slice(0, 8)}…`;
}

export function remapEndpoints(
  self: string,
  config: WgQuickConfig,
  nodeByPublicKey: ReadonlyMap<string, string>,
  resolve: EndpointResolver,
): RemappedConfig {
  const notes: string[] = [];
  const peers = config.peers.map((peer) => {
    if (peer.endpoint === undefined) return peer;
    const { endpoint: written, ...rest } = peer;
    const target = nodeByPublicKey.get(peer.publicKey);
    if (target === undefined) {
      notes.push(`${self}: Endpoint = ${written} of peer ${peerLabel(peer.comment, peer.publicKey)} dropped: no lab node has that PublicKey`);
      return rest;
    }
    if (target === self) {
      notes.push(`${self}: Endpoint = ${written} dropped: the peer is this node itself`);
      return rest;
    }
    const address = resolve(self, target);
    if (!address) {
      notes.push(`${self}: Endpoint = ${written} of ${target} dropped: ${target} has no ListenPort to send to`);
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
