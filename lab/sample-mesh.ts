/**
 * Hand-built hub-and-spoke meshes as WgQuickConfig objects, independent of the planner:
 * the lab's tests and bench use them to prove the runtime on configs whose right answer
 * is obvious (spoke to hub 1 hop, spoke to spoke 2 hops via the hub, 1 over a direct link).
 */
import { generateKeyPair, type KeyPair } from "../infra/keys";
import type { WgPeer, WgQuickConfig } from "../infra/model";
import { FORWARDING_POST_DOWN, FORWARDING_POST_UP } from "../infra/render/wgquick";

export interface SampleMeshSpec {
  hub: string;
  spokes: string[];
  /** Spoke pairs that also get a direct link. */
  direct?: [string, string][];
  /** The hub forwards spoke-to-spoke traffic. Default true. */
  hubForwards?: boolean;
  /** Reuse keys, so a changed mesh keeps its nodes' identities. */
  keys?: Record<string, KeyPair>;
}

export interface SampleMesh {
  configs: Record<string, WgQuickConfig>;
  keys: Record<string, KeyPair>;
  /** Overlay address (no prefix) per node. */
  addresses: Record<string, string>;
}

export const SAMPLE_OVERLAY = "10.77.0.0/24";
export const SAMPLE_PORT = 51820;
/** Endpoints are placeholders under a reserved never-resolving name: the lab maps them by public key. */
const placeholder = (node: string): string => `${node}.lab.invalid:${SAMPLE_PORT}`;

export function sampleMesh(spec: SampleMeshSpec): SampleMesh {
  const names = [spec.hub, ...spec.spokes];
  if (names.length > 250) throw new Error("a sample mesh has at most 250 nodes");
  const keys: Record<string, KeyPair> = { ...spec.keys };
  const addresses: Record<string, string> = {};
  names.forEach((n, i) => {
    keys[n] ??= generateKeyPair();
    addresses[n] = `10.77.0.${i + 1}`;
  });
  const direct = spec.direct ?? [];
  const directPeersOf = (n: string): string[] => direct.flatMap(([a, b]) => (a === n ? [b] : b === n ? [a] : []));
  const peer = (n: string, allowedIps: string[]): WgPeer => ({
    comment: `# ${n}`,
    publicKey: (keys[n] as KeyPair).publicKey,
    endpoint: placeholder(n),
    allowedIps,
    persistentKeepalive: 25,
  });
  const config = (n: string, peers: WgPeer[], forwarding: boolean): WgQuickConfig => ({
    iface: {
      privateKey: (keys[n] as KeyPair).privateKey,
      addresses: [`${addresses[n]}/24`],
      listenPort: SAMPLE_PORT,
      mtu: 1420,
      postUp: forwarding ? [...FORWARDING_POST_UP] : [],
      postDown: forwarding ? [...FORWARDING_POST_DOWN] : [],
      preUp: [],
      preDown: [],
      other: new Map(),
    },
    peers,
  });
  const configs: Record<string, WgQuickConfig> = {
    [spec.hub]: config(
      spec.hub,
      spec.spokes.map((s) => peer(s, [`${addresses[s]}/32`])),
      spec.hubForwards ?? true,
    ),
  };
  for (const s of spec.spokes) {
    // The overlay-wide prefix goes to the hub; a direct peer's /32 is longer, so it wins.
    configs[s] = config(s, [peer(spec.hub, [SAMPLE_OVERLAY]), ...directPeersOf(s).map((d) => peer(d, [`${addresses[d]}/32`]))], false);
  }
  return { configs, keys, addresses };
}
