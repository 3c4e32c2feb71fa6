/**
 * Link costs. A cost is an estimated round-trip time in milliseconds, so the later
 * latency model can drop measured numbers in without changing the router. Until then
 * the estimate only knows whether both ends share a geographic area.
 */

export const SAME_AREA_RTT_MS = 10;
export const CROSS_AREA_RTT_MS = 100;

export function defaultLinkWeight(areaA: string, areaB: string): number {
  return areaA === areaB ? SAME_AREA_RTT_MS : CROSS_AREA_RTT_MS;
}

/** Costs are summed exactly as integers (microseconds) so that equal paths compare equal. */
export function toFixedCost(weightMs: number): number {
  return Math.round(weightMs * 1000);
}
