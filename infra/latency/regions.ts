/**
 * The cloud catalogue: which regions, GCP zones and Azure locations exist (cloud-regions.json,
 * dated), the metro each is in, and the regions a declaration adds under `extraRegions` for a
 * region newer than the catalogue.
 */
import type { ExtraRegions } from "../declaration";
import { SHIPPED_REGIONS } from "./data";

export type CatalogueCloud = "aws" | "gcp" | "azure";
export const CATALOGUE_CLOUDS: readonly CatalogueCloud[] = ["aws", "gcp", "azure"];

export interface CloudCatalogue {
  /** The day the shipped catalogue was last checked against the clouds' own lists. */
  date: string;
  /** Region (GCP, AWS) or location (Azure) -> its metro's site code; undefined where no metro is placed. */
  regions: Readonly<Record<CatalogueCloud, ReadonlyMap<string, string | undefined>>>;
  /** GCP region -> its zones' letters; undefined for a region added without its zones (any letter then). */
  gcpZones: ReadonlyMap<string, readonly string[] | undefined>;
}

export const SHIPPED_CATALOGUE: CloudCatalogue = {
  date: SHIPPED_REGIONS.date,
  regions: { aws: SHIPPED_REGIONS.aws, gcp: SHIPPED_REGIONS.gcp, azure: SHIPPED_REGIONS.azure },
  gcpZones: SHIPPED_REGIONS.gcpZones,
};

/** The catalogue with a declaration's extra regions: new regions, a site for an unplaced one, more zones. */
export function withExtraRegions(base: CloudCatalogue, extra: ExtraRegions | undefined): CloudCatalogue {
  if (!extra) return base;
  const regions = { aws: new Map(base.regions.aws), gcp: new Map(base.regions.gcp), azure: new Map(base.regions.azure) };
  const gcpZones = new Map(base.gcpZones);
  for (const cloud of CATALOGUE_CLOUDS) {
    for (const [name, entry] of Object.entries(extra[cloud] ?? {})) {
      regions[cloud].set(name, entry.site ?? regions[cloud].get(name));
    }
  }
  for (const [name, entry] of Object.entries(extra.gcp ?? {})) {
    // Listed letters add to the catalogue's; a new region without its zones takes any letter.
    const before = base.gcpZones.get(name);
    if (entry.zones !== undefined) gcpZones.set(name, [...new Set([...(before ?? []), ...entry.zones])].sort());
    else if (!base.gcpZones.has(name)) gcpZones.set(name, undefined);
  }
  return { date: base.date, regions, gcpZones };
}

const GCP_ZONE = /^([a-z]+-[a-z]+\d+)-([a-z])$/;

/** A GCP zone's region and letter, by its shape (asia-east2-a -> asia-east2, a). */
export function splitGcpZone(zone: string): { region: string; letter: string } | undefined {
  const m = GCP_ZONE.exec(zone);
  return m ? { region: m[1] as string, letter: m[2] as string } : undefined;
}

export interface PlacedNode {
  cloud: string;
  aws?: { region: string };
  gcp?: { region?: string; zone: string };
  azure?: { location: string };
}

/** The site a cloud node is in, from its region, zone or location; undefined for external nodes and regions without a metro. */
export function siteOfPlacement(node: PlacedNode, catalogue: CloudCatalogue = SHIPPED_CATALOGUE): string | undefined {
  switch (node.cloud) {
    case "aws":
      return node.aws ? catalogue.regions.aws.get(node.aws.region) : undefined;
    case "gcp": {
      const region = node.gcp?.region || (node.gcp ? splitGcpZone(node.gcp.zone)?.region : undefined);
      return region ? catalogue.regions.gcp.get(region) : undefined;
    }
    case "azure":
      return node.azure ? catalogue.regions.azure.get(node.azure.location) : undefined;
    default:
      return undefined;
  }
}
