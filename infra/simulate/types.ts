/** What the simulator reports about a set of wg-quick configs. Plain data, ready for JSON. */

export type Direction = "forward" | "reply";

export interface PairFailure {
  /** "forward": the echo request was lost; "reply": the request arrived but the reply was lost. */
  direction: Direction;
  /** The node that drops the packet (or refuses the handshake). */
  at: string;
  /** Which rule dropped it, in wg-quick's words. */
  reason: string;
}

export interface PairResult {
  from: string;
  to: string;
  reachable: boolean;
  /** Nodes the echo request reached, both ends included when it arrived. */
  path: string[];
  /** Nodes the reply reached, from `to` back to `from`; empty when no reply was sent. */
  returnPath: string[];
  failure?: PairFailure;
  /** For a reachable pair: whether a full-size packet (the sender's MTU, DF set) gets there too. */
  largePacket?: LargePacket;
}

export interface LargePacket {
  /** Bytes: the sender's interface MTU. */
  size: number;
  reachable: boolean;
  /** Where it is dropped, and why, when it is. */
  at?: string;
  reason?: string;
}

/** error: wg-quick up fails or the mesh is certainly wrong; warning: likely wrong; note: worth knowing. */
export type Severity = "error" | "warning" | "note";

export type FindingKind =
  | "bad-private-key"
  | "duplicate-public-key"
  | "no-address"
  | "bad-address"
  | "duplicate-address"
  | "unknown-interface-key"
  | "bad-allowed-ips"
  | "allowed-ips-host-bits"
  | "unknown-peer"
  | "self-peer"
  | "duplicate-peer"
  | "peer-not-listed-back"
  | "no-endpoint"
  | "endpoint-one-side-no-keepalive"
  | "endpoint-port"
  | "endpoint-wrong-node"
  | "listen-port-mismatch"
  | "preshared-key-mismatch"
  | "mtu-mismatch"
  | "forwarding-off"
  | "identical-allowed-ips"
  | "nested-allowed-ips"
  | "address-routed-elsewhere";

export interface Finding {
  severity: Severity;
  kind: FindingKind;
  /** Who it is about: a node (`hkg`) or a link (`hkg <-> nrt`). */
  subject: string;
  /** Every node involved, for filtering. */
  nodes: string[];
  message: string;
}

export interface SimPeer {
  publicKey: string;
  /** The node whose PrivateKey gives this PublicKey, when there is one. */
  node?: string;
  allowedIps: string[];
  endpoint?: string;
}

export interface SimNode {
  name: string;
  /** Derived from the PrivateKey; absent when the PrivateKey is missing or not a key. */
  publicKey?: string;
  /** Source address of the node's own packets: the first IPv4 Address, without prefix. */
  address?: string;
  forwarding: boolean;
  /** Peers as WireGuard holds them: one per PublicKey, own key dropped. */
  peers: SimPeer[];
}

export interface SimulationReport {
  nodes: SimNode[];
  /** Every ordered pair of distinct nodes, in node order. */
  pairs: PairResult[];
  reachable: number;
  /** n * (n - 1). */
  total: number;
  /** Config problems found without sending a packet, plus forwarding that walks showed missing. */
  findings: Finding[];
}

/** What simulateSummary keeps of a large mesh's simulation: counts and the unreachable pairs. */
export interface SimulationSummary {
  nodes: number;
  reachable: number;
  /** n * (n - 1). */
  total: number;
  /** Unreachable pairs with where and why, up to the limit asked for. */
  failures: PairResult[];
  /** Unreachable pairs beyond that limit (the findings may then undercount forwarding misses). */
  failuresOmitted: number;
  findings: Finding[];
}
