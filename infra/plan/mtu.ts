/**
 * The tunnel MTU. A packet that fits the tunnel on one link must fit on every link it
 * may cross when forwarded, so the mesh uses one MTU: the smallest underlay MTU of any
 * link, minus WireGuard's worst-case overhead. The seed's MTU 1420 on a GCP POP (VPC MTU
 * 1460) is the bug this prevents: 1420 + 80 does not fit in 1460.
 */
import type { Cloud, ConfigIssue, PlannedLink } from "../model";

export const WIREGUARD_OVERHEAD = 80;
export const MIN_TUNNEL_MTU = 1280;

const CLOUD_UNDERLAY_MTU: Record<Cloud, number> = {
  aws: 1500, // EC2 carries 9001 inside a VPC but 1500 to the internet, where the tunnel runs
  gcp: 1460, // VPC default
  azure: 1500,
  external: 1500,
};

export function underlayMtuOf(cloud: Cloud, override?: number): number {
  return override ?? CLOUD_UNDERLAY_MTU[cloud];
}

export interface MtuDecision {
  mtu: number;
  reason: string;
  issues: ConfigIssue[];
}

export function decideMtu(
  requested: number | "auto",
  links: readonly PlannedLink[],
  underlay: ReadonlyMap<string, { mtu: number; cloud: Cloud }>,
): MtuDecision {
  let smallest = Infinity;
  let where = "";
  for (const link of links) {
    for (const end of [link.a, link.b]) {
      const u = underlay.get(end) as { mtu: number; cloud: Cloud };
      if (u.mtu < smallest) [smallest, where] = [u.mtu, `${end}'s ${u.cloud} underlay MTU ${u.mtu}`];
    }
  }
  if (!Number.isFinite(smallest)) smallest = 1500;
  const carried = smallest - WIREGUARD_OVERHEAD;
  const issues: ConfigIssue[] = [];
  if (carried < MIN_TUNNEL_MTU) {
    issues.push({
      path: "mtu",
      message: `the links carry only ${carried} bytes (${where} minus ${WIREGUARD_OVERHEAD}); IPv6 and most stacks need ${MIN_TUNNEL_MTU}: raise underlayMtu or move the node`,
    });
  }
  if (requested === "auto") {
    return { mtu: Math.max(carried, MIN_TUNNEL_MTU), reason: `${where} minus ${WIREGUARD_OVERHEAD} bytes of WireGuard overhead`, issues };
  }
  if (requested > carried) {
    issues.push({
      path: "mtu",
      message: `${requested} exceeds what the links carry: at most ${carried} (${where} minus ${WIREGUARD_OVERHEAD}); remove mtu to derive it or set at most ${carried}`,
    });
  }
  return { mtu: requested, reason: "set in config", issues };
}
