/**
 * The private range of a VNet wg-mesh makes itself (Azure nodes without a subnetId). It must
 * stay clear of the overlay: wg-quick routes the overlay's prefixes into the tunnel, and a VM
 * whose own subnet fell inside them would route its underlay into the tunnel too.
 */
import { overlaps, parsePrefix, type Prefix } from "./cidr";
import type { MeshSpec } from "./model";

const CANDIDATES = ["192.168.255.0/24", "172.31.255.0/24", "10.255.255.0/24", "192.168.254.0/24", "172.30.255.0/24"];

export function underlayCidr(spec: Pick<MeshSpec, "overlay" | "regions">): string {
  const taken = [spec.overlay, ...spec.regions.map((r) => r.subnet)].map(parsePrefix).filter((p): p is Prefix => p !== undefined);
  const free = CANDIDATES.find((c) => !taken.some((t) => overlaps(t, parsePrefix(c) as Prefix)));
  if (!free) throw new Error(`the overlay and regions cover every range wg-mesh picks a VNet from (${CANDIDATES.join(", ")}); give azure nodes a subnetId`);
  return free;
}
