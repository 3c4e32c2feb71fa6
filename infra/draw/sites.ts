/** Where sites are on Earth: the coordinates shipped in infra/latency/sites.json (its `source` says where from). */
import shipped from "../latency/sites.json";

export interface SiteCoordinates {
  lat: number;
  lon: number;
  city?: string;
}

export type SiteTable = Readonly<Record<string, SiteCoordinates>>;

export const SHIPPED_SITES: SiteTable = (shipped as { sites: Record<string, SiteCoordinates> }).sites;

/** Site codes are matched as written, then case-blind: `HKG` and `hkg` are one place. */
export function siteCoordinates(sites: SiteTable, site: string): SiteCoordinates | undefined {
  if (Object.prototype.hasOwnProperty.call(sites, site)) return sites[site];
  const lower = site.toLowerCase();
  const key = Object.keys(sites).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : sites[key];
}
