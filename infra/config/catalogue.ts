/**
 * Cloud placements against the cloud catalogue (infra/latency/cloud-regions.json, dated) and
 * the declaration's `extraRegions`: a region, GCP zone or Azure location that exists in neither
 * is refused before planning, naming the node's key, with the closest name that does exist.
 */
import type { ConfigIssue } from "../model";
import { CATALOGUE_CLOUDS, splitGcpZone, SHIPPED_CATALOGUE, withExtraRegions, type CatalogueCloud, type CloudCatalogue } from "../latency/regions";
import { quote } from "../quote";
import { closest } from "../spelling";
import { AWS_REGION, AZURE_LOCATION, GCP_REGION } from "./cloud-shapes";
import { formatPath } from "./issues";
import type { RawMesh } from "./schema";

type RawExtraRegions = NonNullable<RawMesh["extraRegions"]>;

const NAMES: Record<CatalogueCloud, { cloud: string; kind: string; shape: RegExp; example: string }> = {
  aws: { cloud: "AWS", kind: "region", shape: AWS_REGION, example: "ap-southeast-9" },
  gcp: { cloud: "GCP", kind: "region", shape: GCP_REGION, example: "asia-southeast9" },
  azure: { cloud: "Azure", kind: "location", shape: AZURE_LOCATION, example: "taiwannorth" },
};

/**
 * The catalogue with the declaration's extra regions, each checked: a name in its cloud's
 * shape, a known site (`knowsSite`: shipped or latency.sites), and no second metro for a
 * region the catalogue already places.
 */
export function checkExtraRegions(raw: RawExtraRegions | undefined, knowsSite: (code: string) => boolean, siteCodes: () => readonly string[], issues: ConfigIssue[]): CloudCatalogue {
  if (!raw) return SHIPPED_CATALOGUE;
  const accepted: RawExtraRegions = {};
  for (const cloud of CATALOGUE_CLOUDS) {
    const entries = Object.entries(raw[cloud] ?? {});
    const keep: Record<string, { site?: string; zones?: string[] }> = {};
    for (const [name, entry] of entries) {
      const path = formatPath("extraRegions", [cloud, name]);
      const n = NAMES[cloud];
      if (!n.shape.test(name)) {
        issues.push({ path, message: `${quote(name)} is not an ${n.cloud} ${n.kind} name; write it like ${n.example}` });
        continue;
      }
      const shipped = SHIPPED_CATALOGUE.regions[cloud].get(name);
      if (entry.site !== undefined && shipped !== undefined && entry.site !== shipped) {
        issues.push({ path: `${path}.site`, message: `wg-mesh's catalogue already places ${n.cloud} ${n.kind} ${name} in ${shipped}; leave site out` });
        continue;
      }
      if (entry.site !== undefined && !knowsSite(entry.site)) {
        issues.push({ path: `${path}.site`, message: unknownSiteMessage(entry.site, siteCodes()) });
        continue;
      }
      keep[name] = entry;
    }
    (accepted as Record<string, unknown>)[cloud] = keep;
  }
  return withExtraRegions(SHIPPED_CATALOGUE, accepted);
}

/** "unknown site "xyz"; did you mean ...?": the one wording for a site code nobody placed. */
export function unknownSiteMessage(site: string, known: readonly string[]): string {
  const guess = closest(site, known);
  return `unknown site ${quote(site)}; ${guess ? `did you mean ${guess}? Or ` : ""}declare it under latency.sites with its lat and lon`;
}

/** The closing advice, after "did you mean X?" or after the problem itself. */
function newer(catalogue: CloudCatalogue, where: string, guess: string | undefined): string {
  return `${guess ? `did you mean ${guess}? If` : "if"} it is newer than wg-mesh's catalogue (${catalogue.date}), add it under ${where}`;
}

/** Why `name` is not a region (or location) of `cloud`, or undefined when the catalogue has it. */
export function unknownRegion(cloud: CatalogueCloud, name: string, catalogue: CloudCatalogue): string | undefined {
  if (catalogue.regions[cloud].has(name)) return undefined;
  const n = NAMES[cloud];
  const guess = closest(name, [...catalogue.regions[cloud].keys()]);
  return `unknown ${n.cloud} ${n.kind} ${quote(name)}; ${newer(catalogue, `extraRegions.${cloud}`, guess)}`;
}

/** Why `zone` (already in the shape region-letter) is not a GCP zone, or undefined when it is. */
export function unknownGcpZone(zone: string, catalogue: CloudCatalogue): string | undefined {
  const parts = splitGcpZone(zone);
  if (!parts) return undefined;
  if (!catalogue.regions.gcp.has(parts.region)) {
    const zones = [...catalogue.gcpZones].flatMap(([region, letters]) => (letters ?? []).map((l) => `${region}-${l}`));
    const guess = closest(zone, zones);
    return `unknown GCP zone ${quote(zone)}: there is no region ${parts.region}; ${newer(catalogue, "extraRegions.gcp", guess)}`;
  }
  const letters = catalogue.gcpZones.get(parts.region);
  if (letters === undefined || letters.includes(parts.letter)) return undefined;
  const guess = closest(zone, letters.map((l) => `${parts.region}-${l}`));
  return `unknown GCP zone ${quote(zone)}: ${parts.region}'s zones are ${letters.join(", ")}; ${newer(catalogue, `extraRegions.gcp.${parts.region}.zones`, guess)}`;
}
