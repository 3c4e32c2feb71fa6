/**
 * The estimate for pairs no table measured: rtt = inflation x fibre floor + constant. Real
 * routes are longer than great circles and every path pays fixed costs (hops, peering), which
 * the two parameters stand for. They are fitted by least squares on the relative error, so a
 * 10 ms error counts for much on a 12 ms European hop and little on a 300 ms one, and the
 * short pairs, where a mesh's additive slack lives, come out right.
 */
import { pairKey, type MeasuredTable, type SiteCoordinates } from "./data";
import { fibreFloorMs, greatCircleKm } from "./geo";

export interface RouteFit {
  /** Route length over great-circle length, as round-trip time over the fibre floor. */
  inflation: number;
  constantMs: number;
}

export interface FitPoint {
  floorMs: number;
  rttMs: number;
}

export function estimateRtt(fit: RouteFit, floorMs: number): number {
  return fit.inflation * floorMs + fit.constantMs;
}

/** Minimises sum(((inflation x floor + constant) - rtt) / rtt)^2: weighted least squares with weights 1/rtt^2. */
export function fitRoute(points: readonly FitPoint[]): RouteFit {
  let sw = 0;
  let swx = 0;
  let swy = 0;
  let swxx = 0;
  let swxy = 0;
  for (const { floorMs: x, rttMs: y } of points) {
    const w = 1 / (y * y);
    sw += w;
    swx += w * x;
    swy += w * y;
    swxx += w * x * x;
    swxy += w * x * y;
  }
  const det = swxx * sw - swx * swx;
  if (points.length < 2 || det === 0) throw new Error("fitRoute: needs two measured pairs at different distances");
  return { inflation: (swxy * sw - swx * swy) / det, constantMs: (swxx * swy - swx * swxy) / det };
}

export interface MeasuredPair {
  a: string;
  b: string;
  rttMs: number;
  floorMs: number;
}

/** A table's pairs whose two sites have coordinates, with their fibre floors. */
export function measuredPairs(table: MeasuredTable, sites: ReadonlyMap<string, SiteCoordinates>): MeasuredPair[] {
  const out: MeasuredPair[] = [];
  for (const [key, rttMs] of table.rttMs) {
    const [a, b] = key.split("|") as [string, string];
    const sa = sites.get(a);
    const sb = sites.get(b);
    if (sa && sb) out.push({ a, b, rttMs, floorMs: fibreFloorMs(greatCircleKm(sa, sb)) });
  }
  return out.sort((x, y) => (pairKey(x.a, x.b) < pairKey(y.a, y.b) ? -1 : 1));
}

export interface EstimateError {
  pairs: number;
  medianRelative: number;
  p90Relative: number;
  maxRelative: number;
  medianAbsMs: number;
  maxAbsMs: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

export function summariseErrors(errors: readonly { estimate: number; rttMs: number }[]): EstimateError {
  const rel = errors.map((e) => Math.abs(e.estimate - e.rttMs) / e.rttMs).sort((a, b) => a - b);
  const abs = errors.map((e) => Math.abs(e.estimate - e.rttMs)).sort((a, b) => a - b);
  return {
    pairs: errors.length,
    medianRelative: quantile(rel, 0.5),
    p90Relative: quantile(rel, 0.9),
    maxRelative: rel.at(-1) ?? NaN,
    medianAbsMs: quantile(abs, 0.5),
    maxAbsMs: abs.at(-1) ?? NaN,
  };
}

/**
 * Honest error on sites the fit never saw: for each site, fit on the pairs without it and
 * estimate the pairs with it. This is the situation of a new site: its coordinates are known,
 * none of its round trips are.
 */
export function leaveOneSiteOut(pairs: readonly MeasuredPair[]): EstimateError {
  const sites = [...new Set(pairs.flatMap((p) => [p.a, p.b]))].sort();
  const errors: { estimate: number; rttMs: number }[] = [];
  for (const site of sites) {
    const fit = fitRoute(pairs.filter((p) => p.a !== site && p.b !== site));
    for (const p of pairs) if (p.a === site || p.b === site) errors.push({ estimate: estimateRtt(fit, p.floorMs), rttMs: p.rttMs });
  }
  return summariseErrors(errors);
}

/** Error of a fit on pairs of another table (another cloud, another year). */
export function errorOn(fit: RouteFit, pairs: readonly MeasuredPair[]): EstimateError {
  return summariseErrors(pairs.map((p) => ({ estimate: estimateRtt(fit, p.floorMs), rttMs: p.rttMs })));
}
