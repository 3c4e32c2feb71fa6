/**
 * The latency bound of `topology: auto`: a pair's overlay round trip may be at most
 * max(maxStretch x direct, direct + 5 ms). The additive part keeps short hops (a few ms
 * between two zones of one metro) from demanding a direct link to everyone nearby.
 */
export const DEFAULT_MAX_STRETCH = 1.3;
export const DEFAULT_MAX_PEERS = 16;
export const ADDITIVE_SLACK_MS = 5;

export interface LatencyBound {
  maxStretch: number;
  slackMs: number;
}

export function boundOf(directMs: number, b: LatencyBound): number {
  return Math.max(b.maxStretch * directMs, directMs + b.slackMs);
}

/** Costs are compared in whole microseconds, as the router sums them, so a path exactly at the bound passes. */
export function withinBound(pathMs: number, directMs: number, b: LatencyBound): boolean {
  return Math.round(pathMs * 1000) <= Math.round(boundOf(directMs, b) * 1000);
}
