/**
 * The latency model: the round-trip time between two sites, from the best source there is.
 * In order: a value the stack config gives, a measured table (Azure 2025, then AWS 2023),
 * the same-site constant, or the great-circle estimate fitted on the Azure table.
 * Round trips are in milliseconds, estimates rounded to 0.1 ms so that costs built from them
 * compare exactly.
 */
import { MEASURED_TABLES, SHIPPED_SITES, pairKey, type SiteCoordinates } from "./data";
import { estimateRtt, fitRoute, measuredPairs, type RouteFit } from "./fit";
import { fibreFloorMs, greatCircleKm } from "./geo";

/**
 * Two nodes of one metro (two zones, or two clouds' regions in the same city). The tables
 * hold no such pair; the clouds state "less than 2 ms" between zones of a region, and most
 * same-city paths run well under that. Override it per site with rttMs: { dub: { dub: 2 } }.
 */
export const SAME_SITE_RTT_MS = 1;

export type RttSource = "config" | "azure-2025" | "aws-2023" | "same-site" | "estimate";

export interface RttEstimate {
  ms: number;
  source: RttSource;
}

/** What a stack config adds: its own sites, and round trips that override the model. */
export interface LatencySpec {
  sites: Record<string, { lat: number; lon: number }>;
  rttMs: { a: string; b: string; ms: number }[];
}

/** Fitted once on the newest complete table; the held-out error is in fit.ts and the README. */
export const ROUTE_FIT: RouteFit = fitRoute(measuredPairs(MEASURED_TABLES[0] as (typeof MEASURED_TABLES)[0], SHIPPED_SITES));

const round1 = (ms: number): number => Math.round(ms * 10) / 10;

export class LatencyModel {
  private readonly sites: Map<string, SiteCoordinates>;
  private readonly overrides = new Map<string, number>();

  constructor(spec?: LatencySpec) {
    this.sites = new Map(SHIPPED_SITES);
    for (const [code, at] of Object.entries(spec?.sites ?? {})) this.sites.set(code, at);
    for (const { a, b, ms } of spec?.rttMs ?? []) this.overrides.set(pairKey(a, b), ms);
  }

  /** A site the model can place: shipped, or declared in the config. */
  knowsSite(code: string): boolean {
    return this.sites.has(code);
  }

  coordinatesOf(code: string): SiteCoordinates | undefined {
    return this.sites.get(code);
  }

  get siteCodes(): string[] {
    return [...this.sites.keys()];
  }

  /** undefined when neither a value nor both sites' coordinates are known. */
  rtt(a: string, b: string): RttEstimate | undefined {
    const key = pairKey(a, b);
    const given = this.overrides.get(key);
    if (given !== undefined) return { ms: given, source: "config" };
    if (a === b) return { ms: SAME_SITE_RTT_MS, source: "same-site" };
    for (const table of MEASURED_TABLES) {
      const ms = table.rttMs.get(key);
      if (ms !== undefined) return { ms, source: table.name as RttSource };
    }
    const sa = this.sites.get(a);
    const sb = this.sites.get(b);
    if (!sa || !sb) return undefined;
    return { ms: round1(estimateRtt(ROUTE_FIT, fibreFloorMs(greatCircleKm(sa, sb)))), source: "estimate" };
  }

  rttMs(a: string, b: string): number | undefined {
    return this.rtt(a, b)?.ms;
  }

  /** Every pair of `codes` at once, for the planner's inner loops: rtt[i * size + j], NaN when unknown. */
  matrix(codes: readonly string[]): SiteMatrix {
    const size = codes.length;
    const rtt = new Float64Array(size * size);
    for (let i = 0; i < size; i++) {
      for (let j = i; j < size; j++) {
        const ms = this.rttMs(codes[i] as string, codes[j] as string) ?? NaN;
        rtt[i * size + j] = ms;
        rtt[j * size + i] = ms;
      }
    }
    return { codes, index: new Map(codes.map((c, i) => [c, i])), size, rtt };
  }
}

export interface SiteMatrix {
  codes: readonly string[];
  index: ReadonlyMap<string, number>;
  size: number;
  rtt: Float64Array;
}

const models = new WeakMap<object, LatencyModel>();
let shippedOnly: LatencyModel | undefined;

/** One model per config latency block (or the shipped data alone), built once. */
export function latencyModelFor(spec: { latency?: LatencySpec }): LatencyModel {
  if (!spec.latency) return (shippedOnly ??= new LatencyModel());
  let model = models.get(spec.latency);
  if (!model) {
    model = new LatencyModel(spec.latency);
    models.set(spec.latency, model);
  }
  return model;
}
