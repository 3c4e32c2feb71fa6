/**
 * Where an Endpoint really leads. A wg-quick file names its peer twice: by PublicKey (who it
 * expects) and by Endpoint (where it sends). Only the second decides where packets go, and a
 * handshake sent to the wrong place never completes: the node there cannot decrypt an
 * initiation meant for another key, and nothing listens on a port other than ListenPort.
 *
 * Nothing in a wg-quick file says which host is whose, so it is read from the mesh itself: a
 * host is the node most peers reach under it (the key they expect there). A host named for one
 * node only, or for two equally often, is taken at its word. The lab sends packets where this
 * says, so the simulator and real WireGuard judge the same thing.
 */

export interface EndpointAddress {
  /** Lower case; IPv6 without brackets. */
  host: string;
  port: number;
}

export function parseEndpoint(text: string): EndpointAddress | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: (m[1] ?? m[2] ?? "").toLowerCase(), port };
}

/** One Endpoint as written: by `from`, for the peer whose key is `keyNode`'s. */
export interface EndpointUse {
  from: string;
  keyNode: string;
  endpoint: string;
}

/** host -> the node that answers there, by majority of the mesh's own Endpoints; ties have no owner. */
export function hostOwners(uses: Iterable<EndpointUse>): Map<string, string> {
  const votes = new Map<string, Map<string, number>>();
  for (const u of uses) {
    if (u.from === u.keyNode) continue;
    const host = parseEndpoint(u.endpoint)?.host;
    if (host === undefined) continue;
    const tally = votes.get(host) ?? new Map<string, number>();
    tally.set(u.keyNode, (tally.get(u.keyNode) ?? 0) + 1);
    votes.set(host, tally);
  }
  const owners = new Map<string, string>();
  for (const [host, tally] of votes) {
    const ranked = [...tally.entries()].sort((a, b) => b[1] - a[1]);
    const [first, second] = ranked;
    if (first && (!second || second[1] < first[1])) owners.set(host, first[0]);
  }
  return owners;
}

/** The node an Endpoint reaches: the host's owner when the mesh agrees on one, else the node the key names. */
export function endpointTarget(endpoint: string, keyNode: string, owners: ReadonlyMap<string, string>): string {
  const host = parseEndpoint(endpoint)?.host;
  return (host !== undefined ? owners.get(host) : undefined) ?? keyNode;
}

export type EndpointVerdict =
  | { ok: true }
  | { ok: false; kind: "wrong-node"; reaches: string }
  | { ok: false; kind: "no-listen-port" }
  | { ok: false; kind: "wrong-port"; port: number; listenPort: number };

/** Whether an Endpoint for `keyNode` reaches it where it listens. */
export function judgeEndpoint(endpoint: string, keyNode: string, listenPortOf: (node: string) => number | undefined, owners: ReadonlyMap<string, string>): EndpointVerdict {
  const target = endpointTarget(endpoint, keyNode, owners);
  if (target !== keyNode) return { ok: false, kind: "wrong-node", reaches: target };
  const listenPort = listenPortOf(keyNode);
  if (listenPort === undefined) return { ok: false, kind: "no-listen-port" };
  const port = parseEndpoint(endpoint)?.port;
  if (port !== undefined && port !== listenPort) return { ok: false, kind: "wrong-port", port, listenPort };
  return { ok: true };
}
