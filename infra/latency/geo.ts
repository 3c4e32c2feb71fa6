/** Distances on the globe, and the physical floor they put under a round trip. */
import type { SiteCoordinates } from "./data";

const EARTH_RADIUS_KM = 6371.0088;
/** Light in fibre covers about 200 km per millisecond (refractive index about 1.5). */
export const FIBRE_KM_PER_MS = 200;

const rad = (deg: number): number => (deg * Math.PI) / 180;

/** Haversine distance in kilometres. */
export function greatCircleKm(a: SiteCoordinates, b: SiteCoordinates): number {
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The fastest round trip physics allows: there and back along the great circle in fibre. */
export function fibreFloorMs(km: number): number {
  return (2 * km) / FIBRE_KM_PER_MS;
}
