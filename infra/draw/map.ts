/**
 * The mesh on a world map (SVG text): each node at its site, each planned link as a
 * great-circle arc coloured by round trip, a legend, and a note naming any node whose site
 * has no coordinates. Where markers crowd (a hub among its neighbours), a close-up inset
 * shows them apart. Land and borders are Natural Earth's, from world-atlas.
 */
import { geoGraticule10, geoInterpolate, geoNaturalEarth1, geoPath, type GeoPermissibleObjects, type GeoProjection } from "d3-geo";
import type { MultiPoint } from "geojson";
import type { MeshPlan, Role } from "../model";
import { basemap, type Basemap } from "./basemap";
import { generatedComment } from "./generated";
import { placeLabels, type Box, type Marker } from "./labels";
import { formatRtt, rttNote, sceneOf, titleOf, type DrawOptions, type Scene, type SceneLink, type SceneNode } from "./scene";
import { SHIPPED_SITES, siteCoordinates, type SiteTable } from "./sites";
import { FONT, MUTED_TEXT, ROLE_STYLE, RTT_BANDS, TRANSIT_STROKE, UNKNOWN_RTT, rttColour } from "./style";
import { escapeXml } from "./text";

export interface MapOptions extends DrawOptions {
  /** Site code -> coordinates; the shipped infra/latency/sites.json when left out. */
  sites?: SiteTable;
}

const MAP_WIDTH = 1200;
const MAX_MAP_HEIGHT = 680;
const MIN_WIDTH = 980;
const PAD = 40;
const HEADER = 62;
const LINE = 20;
const INSET_W = 300;
const INSET_H = 210;
const MARKER_R: Record<Role, number> = { hub: 9, pop: 8, backend: 5.5 };
const TRANSIT_RING = 3.5;
const LABEL_FONT = 12;
const INK = "#17263a";
const OCEAN = "#dde9f3";
const LAND = "#f3f0e8";
const COAST = "#bdb6a3";

type LonLat = [number, number];

interface Layer {
  projection: GeoProjection;
  frame: Box;
  /** Arcs shorter than this on screen carry no round-trip figure. */
  rttMinPx: number;
}

export function meshToMapSvg(plan: MeshPlan, options: MapOptions): string {
  return sceneToMapSvg(sceneOf(plan, options), options.sites ?? SHIPPED_SITES);
}

export function sceneToMapSvg(scene: Scene, sites: SiteTable): string {
  const at = new Map<string, LonLat>();
  const unplaced: SceneNode[] = [];
  for (const n of scene.nodes) {
    const c = siteCoordinates(sites, n.site);
    if (c && Number.isFinite(c.lon) && Number.isFinite(c.lat)) at.set(n.name, [c.lon, c.lat]);
    else unplaced.push(n);
  }
  const arcs = scene.links.filter((l) => at.has(l.a) && at.has(l.b));
  const placedNodes = scene.nodes.filter((n) => at.has(n.name));

  const view = fitView(scene, at, arcs);
  const main: Layer = { projection: view.projection, frame: view.frame, rttMinPx: 110 };
  const markers = markersFor(main, placedNodes, at);
  const crowd = crowdedGroup(markers);
  const inset = crowd ? planInset(crowd, at, arcs, markers, main) : undefined;
  if (inset) for (const m of markers) if (crowd?.includes(m.id)) m.unlabelled = true;

  const width = view.width;
  const legendTop = view.frame.y1 + 18;
  const height = Math.ceil(legendTop + (2 + (unplaced.length > 0 ? 1 : 0)) * LINE + 30);
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(generatedComment(`the map of stack ${escapeXml(scene.stack)} (wgmesh plan, map)`));
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}" role="img" aria-labelledby="title desc">`);
  out.push(`<title id="title">${escapeXml(titleOf(scene))}</title>`);
  out.push(`<desc id="desc">${escapeXml(`Nodes at their sites, links as great-circle arcs coloured by round trip. ${rttNote(scene)}.`)}</desc>`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${PAD / 2}" y="28" font-size="18" font-weight="bold" fill="${INK}">${escapeXml(titleOf(scene))}</text>`);
  out.push(`<text x="${PAD / 2}" y="48" font-size="12" fill="${MUTED_TEXT}">${escapeXml(`${rttNote(scene)}. Links are drawn as great-circle arcs.`)}</text>`);

  // 1:110m looks hand-drawn once a map shows less than about a third of the world.
  out.push(...drawBasemap(main, basemap(view.projection.scale() > 450 ? "50m" : "110m"), true));
  out.push(...drawLinks(scene, main, arcs, at));
  const labels = placeLabels(markers, main.frame, inset ? [inset.box, inset.locator] : []);
  out.push(...drawRttLabels(main, arcs, at, [...labels.map((l) => l.box), ...markerBoxes(markers), ...(inset ? [inset.box, inset.locator] : [])]));
  out.push(...drawNodes(scene, sites, markers, labels));

  if (inset) {
    const { box, locator } = inset;
    const from = nearest(locator, centre(box));
    const to = nearest(box, centre(locator));
    out.push(`<g class="inset-locator" fill="none" stroke="#4d5866" stroke-width="1">`);
    out.push(`<rect x="${num(locator.x0)}" y="${num(locator.y0)}" width="${num(locator.x1 - locator.x0)}" height="${num(locator.y1 - locator.y0)}" rx="3"/>`);
    out.push(`<line x1="${num(from.x)}" y1="${num(from.y)}" x2="${num(to.x)}" y2="${num(to.y)}" stroke-dasharray="3 2"/>`);
    out.push(`</g>`);
    const layer: Layer = { projection: inset.projection, frame: box, rttMinPx: 70 };
    const insetNodes = placedNodes.filter((n) => inside(box, inset.projection(at.get(n.name) as LonLat)));
    const insetMarkers = markersFor(layer, insetNodes, at);
    const insetLabels = placeLabels(insetMarkers, shrink(box, 2));
    out.push(`<g class="inset">`);
    out.push(`<rect x="${num(box.x0)}" y="${num(box.y0)}" width="${num(box.x1 - box.x0)}" height="${num(box.y1 - box.y0)}" fill="${OCEAN}"/>`);
    out.push(...drawBasemap(layer, basemap("50m"), false));
    out.push(...drawLinks(scene, layer, arcs, at));
    out.push(...drawRttLabels(layer, arcs, at, [...insetLabels.map((l) => l.box), ...markerBoxes(insetMarkers)]));
    out.push(...drawNodes(scene, sites, insetMarkers, insetLabels));
    out.push(`<rect x="${num(box.x0)}" y="${num(box.y0)}" width="${num(box.x1 - box.x0)}" height="${num(box.y1 - box.y0)}" fill="none" stroke="#4d5866" stroke-width="1.2"/>`);
    out.push(`</g>`);
  }

  out.push(...legend(scene, legendTop, unplaced));
  out.push(`</svg>`);
  return `${out.join("\n")}\n`;
}

interface View {
  projection: GeoProjection;
  width: number;
  frame: Box;
}

/**
 * Centres the map on the hub's longitude (most links end there, so few arcs are cut by the
 * map's edge) and frames every site and arc with some of the world around them.
 */
function fitView(scene: Scene, at: Map<string, LonLat>, arcs: SceneLink[]): View {
  const hub = scene.nodes.find((n) => n.role === "hub" && at.has(n.name));
  const all = [...at.values()];
  const lon0 = hub ? (at.get(hub.name) as LonLat)[0] : circularMeanLon(all.map((c) => c[0]));
  const projection = geoNaturalEarth1().rotate([-lon0, 0]).precision(0.2);

  const points: LonLat[] = [...all];
  for (const l of arcs) points.push(...along(at.get(l.a) as LonLat, at.get(l.b) as LonLat, 16));
  const inner: [[number, number], [number, number]] = [[PAD, PAD], [MAP_WIDTH - PAD, MAX_MAP_HEIGHT - PAD]];
  if (points.length === 0) {
    projection.fitExtent(inner, { type: "Sphere" });
  } else {
    // Some of the world around a small mesh, so that one city does not fill the page.
    const lats = points.map((c) => c[1]);
    const midLat = (Math.min(...lats) + Math.max(...lats)) / 2;
    for (const [dl, dp] of [[-30, -15], [30, -15], [-30, 15], [30, 15]] as const) points.push([lon0 + dl, Math.max(-80, Math.min(80, midLat + dp))]);
    const fit: MultiPoint = { type: "MultiPoint", coordinates: points };
    projection.fitExtent(inner, fit);
  }

  const sphere = geoPath(projection).bounds({ type: "Sphere" });
  const xy = points.map((c) => projection(c)).filter((v): v is [number, number] => v !== null);
  let [x0, y0, x1, y1] = xy.length > 0
    ? [Math.min(...xy.map((v) => v[0])) - PAD, Math.min(...xy.map((v) => v[1])) - PAD, Math.max(...xy.map((v) => v[0])) + PAD, Math.max(...xy.map((v) => v[1])) + PAD]
    : [sphere[0][0], sphere[0][1], sphere[1][0], sphere[1][1]];
  [x0, y0, x1, y1] = [Math.max(x0, sphere[0][0] - 8), Math.max(y0, sphere[0][1] - 8), Math.min(x1, sphere[1][0] + 8), Math.min(y1, sphere[1][1] + 8)];
  const mapWidth = Math.round(x1 - x0);
  const width = Math.max(mapWidth, MIN_WIDTH);
  const mapHeight = Math.round(y1 - y0);
  const left = Math.round((width - mapWidth) / 2);
  const [tx, ty] = projection.translate();
  const frame = { x0: left, y0: HEADER, x1: left + mapWidth, y1: HEADER + mapHeight };
  projection.translate([tx - x0 + left, ty - y0 + HEADER]).clipExtent([[frame.x0, frame.y0], [frame.x1, frame.y1]]);
  return { projection, width, frame };
}

function along(a: LonLat, b: LonLat, steps: number): LonLat[] {
  const f = geoInterpolate(a, b);
  const out: LonLat[] = [];
  for (let i = 1; i < steps; i++) out.push(f(i / steps) as LonLat);
  return out;
}

function circularMeanLon(lons: number[]): number {
  if (lons.length === 0) return 0;
  const rad = Math.PI / 180;
  const x = lons.reduce((s, l) => s + Math.cos(l * rad), 0);
  const y = lons.reduce((s, l) => s + Math.sin(l * rad), 0);
  return Math.atan2(y, x) / rad;
}

function markersFor(layer: Layer, nodes: SceneNode[], at: Map<string, LonLat>): Marker[] {
  const out: Marker[] = [];
  for (const n of nodes) {
    const xy = layer.projection(at.get(n.name) as LonLat);
    if (!xy) continue;
    out.push({ id: n.name, x: xy[0], y: xy[1], r: MARKER_R[n.role] + (n.transit ? TRANSIT_RING : 0), w: textWidth(n.name, LABEL_FONT, true) + 4, h: LABEL_FONT + 4 });
  }
  return out;
}

/** The largest group of markers too close to label apart: three or more within 30 px of each other, or two that touch. */
function crowdedGroup(markers: Marker[]): string[] | undefined {
  const groupOf = new Map<string, number>();
  const groups: string[][] = [];
  for (const m of markers) {
    const near = markers.filter((o) => o !== m && Math.hypot(o.x - m.x, o.y - m.y) < Math.max(30, m.r + o.r + 14)).map((o) => groupOf.get(o.id)).filter((g): g is number => g !== undefined);
    const target = near.length > 0 ? Math.min(...near) : groups.push([]) - 1;
    for (const g of new Set(near)) {
      if (g === target) continue;
      for (const id of groups[g] as string[]) groupOf.set(id, target);
      (groups[target] as string[]).push(...(groups[g] as string[]));
      groups[g] = [];
    }
    groupOf.set(m.id, target);
    (groups[target] as string[]).push(m.id);
  }
  const byId = new Map(markers.map((m) => [m.id, m]));
  const crowded = groups.filter((g) => {
    if (g.length >= 3) return true;
    if (g.length !== 2) return false;
    const [a, b] = g.map((id) => byId.get(id) as Marker) as [Marker, Marker];
    return Math.hypot(a.x - b.x, a.y - b.y) < a.r + b.r + 2;
  });
  return crowded.sort((a, b) => b.length - a.length)[0];
}

interface Inset {
  projection: GeoProjection;
  box: Box;
  /** The inset's area on the main map. */
  locator: Box;
}

/** A close-up of the crowded group, in the corner or edge of the map where it covers least. */
function planInset(group: string[], at: Map<string, LonLat>, arcs: SceneLink[], markers: Marker[], main: Layer): Inset {
  const coords = group.map((id) => at.get(id) as LonLat);
  const lons = coords.map((c) => c[0]);
  const lats = coords.map((c) => c[1]);
  const [lonMin, lonMax, latMin, latMax] = [Math.min(...lons), Math.max(...lons), Math.min(...lats), Math.max(...lats)];
  const padLon = Math.max(3, (lonMax - lonMin) * 0.3);
  const padLat = Math.max(2, (latMax - latMin) * 0.3);
  const corners: LonLat[] = [[lonMin - padLon, latMin - padLat], [lonMax + padLon, latMin - padLat], [lonMin - padLon, latMax + padLat], [lonMax + padLon, latMax + padLat]];

  const f = main.frame;
  const m = 14;
  const xs = [f.x0 + m, (f.x0 + f.x1 - INSET_W) / 2, f.x1 - m - INSET_W];
  const ys = [f.y1 - m - INSET_H, f.y0 + m];
  const candidates: Box[] = [];
  for (const y of ys) for (const x of xs) candidates.push({ x0: x, y0: y, x1: x + INSET_W, y1: y + INSET_H });
  const arcPoints = arcs.flatMap((l) => along(at.get(l.a) as LonLat, at.get(l.b) as LonLat, 64)).map((c) => main.projection(c)).filter((v): v is [number, number] => v !== null);
  const locatorXY = corners.map((c) => main.projection(c)).filter((v): v is [number, number] => v !== null);
  const locator = { x0: Math.min(...locatorXY.map((v) => v[0])), y0: Math.min(...locatorXY.map((v) => v[1])), x1: Math.max(...locatorXY.map((v) => v[0])), y1: Math.max(...locatorXY.map((v) => v[1])) };
  const score = (b: Box): number =>
    arcPoints.filter((p) => inside(b, p)).length + markers.filter((k) => inside(shrink(b, -k.r - 20), [k.x, k.y])).length * 100 + (overlaps(b, shrink(locator, -20)) ? 1000 : 0);
  const box = candidates.reduce((best, c) => (score(c) < score(best) ? c : best));

  const centreLon = (lonMin + lonMax) / 2;
  const projection = geoNaturalEarth1().rotate([-centreLon, 0]).precision(0.1);
  const content: MultiPoint = { type: "MultiPoint", coordinates: corners };
  projection.fitExtent([[box.x0 + 10, box.y0 + 10], [box.x1 - 10, box.y1 - 10]], content);
  projection.clipExtent([[box.x0, box.y0], [box.x1, box.y1]]);
  // The locator shows what the inset shows: its whole box, which is wider than the fitted corners in one direction.
  const seen = [[box.x0, box.y0], [box.x1, box.y0], [box.x0, box.y1], [box.x1, box.y1]]
    .map(([x, y]) => projection.invert?.([x as number, y as number]))
    .filter((v): v is [number, number] => Boolean(v))
    .map((c) => main.projection(c))
    .filter((v): v is [number, number] => v !== null);
  const shown = seen.length === 4 ? { x0: Math.min(...seen.map((v) => v[0])), y0: Math.min(...seen.map((v) => v[1])), x1: Math.max(...seen.map((v) => v[0])), y1: Math.max(...seen.map((v) => v[1])) } : locator;
  return { projection, box, locator: shown };
}

function drawBasemap(layer: Layer, map: Basemap, graticule: boolean): string[] {
  const path = geoPath(layer.projection).digits(1);
  const p = (o: GeoPermissibleObjects): string => path(o) ?? "";
  const out = [`<g class="basemap">`, `<path d="${p({ type: "Sphere" })}" fill="${OCEAN}"/>`];
  if (graticule) out.push(`<path d="${p(geoGraticule10())}" fill="none" stroke="#c8d8e7" stroke-width="0.5"/>`);
  out.push(`<path d="${p(map.land)}" fill="${LAND}" stroke="${COAST}" stroke-width="0.6"/>`);
  out.push(`<path d="${p(map.borders)}" fill="none" stroke="${COAST}" stroke-width="0.4" stroke-dasharray="2 1.5"/>`);
  if (graticule) out.push(`<path d="${p({ type: "Sphere" })}" fill="none" stroke="#9fb3c6" stroke-width="0.8"/>`);
  out.push(`</g>`);
  return out;
}

function drawLinks(scene: Scene, layer: Layer, arcs: SceneLink[], at: Map<string, LonLat>): string[] {
  const path = geoPath(layer.projection).digits(1);
  const out = [`<g class="links" fill="none" stroke-linecap="round">`];
  for (const l of arcs) {
    const d = path({ type: "LineString", coordinates: [at.get(l.a) as LonLat, at.get(l.b) as LonLat] });
    if (!d) continue;
    const colour = rttColour(l.rttMs);
    const dash = l.rttMs === undefined || l.backup ? ` stroke-dasharray="5 4"` : "";
    const about = `${l.a} to ${l.b}: ${l.rttMs === undefined ? "no round-trip figure" : `${formatRtt(l.rttMs)} round trip (${scene.rttKind})`}${l.backup ? "; backup link, idle until a failover" : ""}${l.cuts === undefined ? "" : `; its loss cuts ${l.cuts} pairs`}`;
    out.push(`<g class="link" data-link="${escapeXml(l.id)}"><title>${escapeXml(about)}</title>`);
    out.push(`<path d="${d}" stroke="#ffffff" stroke-width="4.5" stroke-opacity="0.85"/><path d="${d}" stroke="${colour}" stroke-width="2.2"${dash}/></g>`);
  }
  out.push(`</g>`);
  return out;
}

/** A round-trip figure at the middle of each arc long enough to carry one, where it hides nothing. */
function drawRttLabels(layer: Layer, arcs: SceneLink[], at: Map<string, LonLat>, taken: Box[]): string[] {
  const out = [`<g class="rtt-labels" font-size="10" text-anchor="middle" paint-order="stroke" stroke="#ffffff" stroke-width="3" stroke-linejoin="round">`];
  const boxes = [...taken];
  for (const l of arcs) {
    if (l.rttMs === undefined) continue;
    const a = layer.projection(at.get(l.a) as LonLat);
    const b = layer.projection(at.get(l.b) as LonLat);
    const mid = layer.projection(geoInterpolate(at.get(l.a) as LonLat, at.get(l.b) as LonLat)(0.5) as LonLat);
    if (!a || !b || !mid || Math.hypot(a[0] - b[0], a[1] - b[1]) < layer.rttMinPx) continue;
    const text = formatRtt(l.rttMs);
    const w = textWidth(text, 10, false) + 4;
    const box = { x0: mid[0] - w / 2, y0: mid[1] - 12, x1: mid[0] + w / 2, y1: mid[1] + 1 };
    if (box.x0 < layer.frame.x0 || box.x1 > layer.frame.x1 || box.y0 < layer.frame.y0 || box.y1 > layer.frame.y1) continue;
    if (boxes.some((o) => overlaps(o, box))) continue;
    boxes.push(box);
    out.push(`<text x="${num(mid[0])}" y="${num(mid[1] - 3)}" fill="${rttColour(l.rttMs)}">${escapeXml(text)}</text>`);
  }
  out.push(`</g>`);
  return out;
}

function drawNodes(scene: Scene, sites: SiteTable, markers: Marker[], labels: ReturnType<typeof placeLabels>): string[] {
  const out = [`<g class="nodes">`];
  for (const m of markers) {
    const n = scene.nodes.find((s) => s.name === m.id) as SceneNode;
    const label = labels.find((l) => l.id === m.id);
    const city = siteCoordinates(sites, n.site)?.city;
    const about = `${n.name}: ${n.role}, ${n.cloud} ${n.placement}, ${n.address}, site ${n.site}${city ? ` (${city})` : ""}${n.transit ? ", forwards (transit)" : ""}${n.cuts === undefined ? "" : `; down, it cuts ${n.cuts} pairs`}`;
    out.push(`<g class="node ${n.role}${n.transit ? " transit" : ""}${n.cuts === undefined ? "" : " single-point"}" data-node="${escapeXml(n.name)}"><title>${escapeXml(about)}</title>`);
    if (label?.leader) out.push(`<line x1="${num(label.leader.x1)}" y1="${num(label.leader.y1)}" x2="${num(label.leader.x2)}" y2="${num(label.leader.y2)}" stroke="#6b7684" stroke-width="0.8"/>`);
    // A single point of failure: a dashed red ring around its marker.
    if (n.cuts !== undefined) out.push(`<circle cx="${num(m.x)}" cy="${num(m.y)}" r="${num(m.r + 3)}" fill="none" stroke="${TRANSIT_STROKE}" stroke-width="1.2" stroke-dasharray="3 2"/>`);
    out.push(markerShape(n.role, n.transit, m.x, m.y));
    if (label) out.push(`<text x="${num(label.x)}" y="${num(label.y)}" text-anchor="${label.anchor}" font-size="${LABEL_FONT}" font-weight="bold" fill="${INK}" paint-order="stroke" stroke="#ffffff" stroke-width="3.5" stroke-linejoin="round">${escapeXml(n.name)}</text>`);
    out.push(`</g>`);
  }
  out.push(`</g>`);
  return out;
}

function polygon(x: number, y: number, r: number, corners: number, turn: number): string {
  const pts: string[] = [];
  for (let i = 0; i < corners; i++) {
    const a = ((turn + (360 / corners) * i) * Math.PI) / 180;
    pts.push(`${num(x + r * Math.cos(a))},${num(y + r * Math.sin(a))}`);
  }
  return pts.join(" ");
}

/** The diagram's shapes in small: octagon hub, hexagon POP, rounded square backend; transit gets the double red outline. */
function markerShape(role: Role, transit: boolean, x: number, y: number): string {
  const s = ROLE_STYLE[role];
  const r = MARKER_R[role];
  const stroke = transit ? TRANSIT_STROKE : s.stroke;
  const shape = (radius: number, attrs: string): string => {
    if (role === "hub") return `<polygon points="${polygon(x, y, radius, 8, 22.5)}" ${attrs}/>`;
    if (role === "pop") return `<polygon points="${polygon(x, y, radius, 6, 0)}" ${attrs}/>`;
    const side = radius * 1.7;
    return `<rect x="${num(x - side / 2)}" y="${num(y - side / 2)}" width="${num(side)}" height="${num(side)}" rx="${num(side * 0.28)}" ${attrs}/>`;
  };
  const parts = [shape(r, `fill="${s.fill}" stroke="${stroke}" stroke-width="1.3"`)];
  if (transit) parts.unshift(shape(r + TRANSIT_RING, `fill="#ffffff" fill-opacity="0.6" stroke="${TRANSIT_STROKE}" stroke-width="1.3"`));
  return parts.join("");
}

function legend(scene: Scene, top: number, unplaced: SceneNode[]): string[] {
  const out = [`<g class="legend" font-size="12" fill="${MUTED_TEXT}">`];
  let x = PAD / 2;
  const y = top + 10;
  const heading = (text: string): void => {
    out.push(`<text x="${num(x)}" y="${num(y + 4)}" font-weight="bold">${escapeXml(text)}</text>`);
    x += textWidth(text, 12, true) + 14;
  };
  heading("Nodes");
  const samples: [Role, boolean, string][] = [["hub", false, "hub"], ["pop", false, "POP"], ["backend", false, "backend"], ["backend", true, "forwards (transit)"]];
  for (const [role, transit, text] of samples) {
    const r = MARKER_R[role] + (transit ? TRANSIT_RING : 0);
    out.push(markerShape(role, transit, x + r, y), `<text x="${num(x + 2 * r + 6)}" y="${num(y + 4)}">${escapeXml(text)}</text>`);
    x += 2 * r + 6 + textWidth(text, 12, false) + 18;
  }
  x += 10;
  heading("Round trip");
  const bands: { colour: string; label: string; dash?: boolean }[] = RTT_BANDS.map((b) => ({ colour: b.colour, label: b.label }));
  if (scene.links.some((l) => l.rttMs === undefined)) bands.push({ ...UNKNOWN_RTT, dash: true });
  for (const b of bands) {
    out.push(`<line x1="${num(x)}" y1="${num(y)}" x2="${num(x + 18)}" y2="${num(y)}" stroke="${b.colour}" stroke-width="3" stroke-linecap="round"${b.dash ? ` stroke-dasharray="4 3"` : ""}/>`);
    out.push(`<text x="${num(x + 24)}" y="${num(y + 4)}">${escapeXml(b.label)}</text>`);
    x += 24 + textWidth(b.label, 12, false) + 16;
  }
  let line = y + LINE + 6;
  if (unplaced.length > 0) {
    const linksOf = (n: SceneNode): number => scene.links.filter((l) => l.a === n.name || l.b === n.name).length;
    const list = unplaced.map((n) => `${n.name} (site ${JSON.stringify(n.site)}, ${linksOf(n)} link${linksOf(n) === 1 ? "" : "s"})`).join(", ");
    out.push(`<text class="unplaced" x="${PAD / 2}" y="${num(line)}" fill="${TRANSIT_STROKE}">${escapeXml(`Not on the map, no coordinates for their site: ${list}`)}</text>`);
    line += LINE;
  }
  out.push(`<text x="${PAD / 2}" y="${num(line)}" font-size="10">${escapeXml("Land and borders: Natural Earth (world-atlas). Site coordinates: infra/latency/sites.json.")}</text>`);
  out.push(`</g>`);
  return out;
}

function markerBoxes(markers: Marker[]): Box[] {
  return markers.map((m) => ({ x0: m.x - m.r, y0: m.y - m.r, x1: m.x + m.r, y1: m.y + m.r }));
}

function inside(b: Box, p: [number, number] | null): boolean {
  return p !== null && p[0] >= b.x0 && p[0] <= b.x1 && p[1] >= b.y0 && p[1] <= b.y1;
}

function overlaps(a: Box, b: Box): boolean {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

function shrink(b: Box, by: number): Box {
  return { x0: b.x0 + by, y0: b.y0 + by, x1: b.x1 - by, y1: b.y1 - by };
}

function centre(b: Box): { x: number; y: number } {
  return { x: (b.x0 + b.x1) / 2, y: (b.y0 + b.y1) / 2 };
}

function nearest(b: Box, p: { x: number; y: number }): { x: number; y: number } {
  return { x: Math.min(Math.max(p.x, b.x0), b.x1), y: Math.min(Math.max(p.y, b.y0), b.y1) };
}

/** Helvetica's average advance is about 0.55 em (0.6 in bold); close enough to keep labels apart. */
function textWidth(text: string, size: number, bold: boolean): number {
  return text.length * size * (bold ? 0.62 : 0.56);
}

function num(v: number): string {
  return String(Math.round(v * 10) / 10);
}
