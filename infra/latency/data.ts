/**
 * The latency data wg-mesh ships (this folder's JSON files, each with its source line), as
 * typed values: site coordinates, measured round-trip tables, and which site each cloud
 * region is in. Bundled as modules rather than read from disk, so the engine stays free of I/O.
 */
import awsJson from "./rtt-aws-2023.json";
import azureJson from "./rtt-azure-2025.json";
import regionsJson from "./cloud-regions.json";
import sitesJson from "./sites.json";

export interface SiteCoordinates {
  lat: number;
  lon: number;
  city?: string;
}

export interface MeasuredTable {
  /** How the planner names the table in messages and reports. */
  name: string;
  source: string;
  /** Keyed by pairKey(a, b). */
  rttMs: ReadonlyMap<string, number>;
}

/** One key per unordered site pair. */
export function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function table(name: string, json: { description: string; rttMs: Record<string, number> }): MeasuredTable {
  const rttMs = new Map<string, number>();
  for (const [key, ms] of Object.entries(json.rttMs)) {
    const [a, b] = key.split("-") as [string, string];
    rttMs.set(pairKey(a, b), ms);
  }
  return { name, source: json.description, rttMs };
}

/** Newest first: a pair measured in both takes the first table's value. */
export const MEASURED_TABLES: readonly MeasuredTable[] = [table("azure-2025", azureJson), table("aws-2023", awsJson)];

/** The metros of sites.json plus those cloud-regions.json adds for regions the first lacks. */
export const SHIPPED_SITES: ReadonlyMap<string, SiteCoordinates> = new Map([...Object.entries(sitesJson.sites), ...Object.entries(regionsJson.sites)]);

export const SITES_SOURCE = `${sitesJson.source} ${regionsJson.source}`;

/** Maps, not the JSON objects: region names come from configs, and "constructor" is no region. */
export interface CloudRegionSites {
  aws: ReadonlyMap<string, string>;
  gcp: ReadonlyMap<string, string>;
  azure: ReadonlyMap<string, string>;
}

/**
 * Every region the catalogue lists, by cloud, with its metro's site code, or undefined for a
 * region whose metro wg-mesh does not place (GovCloud, say): its nodes give their own site.
 */
export interface ShippedRegions {
  /** The day the catalogue was last checked against the clouds' lists. */
  date: string;
  aws: ReadonlyMap<string, string | undefined>;
  gcp: ReadonlyMap<string, string | undefined>;
  azure: ReadonlyMap<string, string | undefined>;
  /** GCP region -> the letters of its zones. */
  gcpZones: ReadonlyMap<string, readonly string[]>;
}

const regionMap = (json: Record<string, string | null>): Map<string, string | undefined> => new Map(Object.entries(json).map(([region, site]) => [region, site ?? undefined]));

export const SHIPPED_REGIONS: ShippedRegions = {
  date: regionsJson.date,
  aws: regionMap(regionsJson.aws),
  gcp: regionMap(regionsJson.gcp),
  azure: regionMap(regionsJson.azure),
  gcpZones: new Map(Object.entries(regionsJson.gcpZones)),
};

/** The regions the catalogue places in a metro. */
const placed = (regions: ReadonlyMap<string, string | undefined>): Map<string, string> =>
  new Map([...regions].filter((e): e is [string, string] => e[1] !== undefined));

export const CLOUD_REGION_SITES: CloudRegionSites = {
  aws: placed(SHIPPED_REGIONS.aws),
  gcp: placed(SHIPPED_REGIONS.gcp),
  azure: placed(SHIPPED_REGIONS.azure),
};
