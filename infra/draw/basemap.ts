/**
 * Land and country borders from world-atlas (Natural Earth): 1:110m for the world, 1:50m for a
 * close-up, where the coarser coastline would look hand-drawn. Loaded on first use, with
 * require so the type checker does not read megabytes of JSON.
 */
import type { Feature, FeatureCollection, MultiLineString } from "geojson";
import { feature, mesh } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";

export interface Basemap {
  land: Feature | FeatureCollection;
  borders: MultiLineString;
}

type World = Topology<{ countries: GeometryCollection; land: GeometryCollection }>;

const cache = new Map<string, Basemap>();

export function basemap(detail: "110m" | "50m"): Basemap {
  const hit = cache.get(detail);
  if (hit) return hit;
  /* eslint-disable @typescript-eslint/no-require-imports */
  const world = (detail === "110m" ? require("world-atlas/countries-110m.json") : require("world-atlas/countries-50m.json")) as World;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const made = { land: feature(world, world.objects.land), borders: mesh(world, world.objects.countries, (a, b) => a !== b) };
  cache.set(detail, made);
  return made;
}
