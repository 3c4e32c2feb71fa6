/**
 * The private range of a VNet wg-mesh makes itself (Azure nodes without a subnetId). It must
 * stay clear of the overlay: wg-quick routes the overlay's prefixes into the tunnel, and a VM
 * whose own subnet fell inside them would route its underlay into the tunnel too.
 */
import { overlaps, parseCidr, parsePrefix, prefixOf, type Prefix } from "./cidr";
import type { MeshSpec } from "./model";

const CANDIDATES = ["192.168.255.0/24", "172.31.255.0/24", "10.255.255.0/24", "192.168.254.0/24", "172.30.255.0/24"];

export function underlayCidr(spec: Pick<MeshSpec, "overlay" | "regions">): string {
  return freeUnderlayCidr([spec.overlay, ...spec.regions.map((r) => r.subnet)]);
}

/** The first candidate range that overlaps none of `taken` (CIDRs; an address with host bits counts as its network). */
export function freeUnderlayCidr(taken: readonly string[]): string {
  const prefixes = taken.map((t) => parseCidr(t, true)).filter((c): c is NonNullable<typeof c> => c !== undefined).map((c) => prefixOf(c.ip, c.len));
  const free = CANDIDATES.find((c) => !prefixes.some((t) => overlaps(t, parsePrefix(c) as Prefix)));
  if (!free) throw new Error(`the overlay and regions cover every range wg-mesh picks a VNet from (${CANDIDATES.join(", ")}); give azure nodes a subnetId`);
  return free;
}
