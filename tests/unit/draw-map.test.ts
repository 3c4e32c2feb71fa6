/** The world map: well-formed SVG, every node at its site, every link as a great-circle arc coloured by round trip. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { isGeneratedSvg } from "../../infra/draw/generated";
import { meshToMapSvg } from "../../infra/draw/map";
import type { LatencySource } from "../../infra/draw/scene";
import { SHIPPED_SITES } from "../../infra/draw/sites";
import { RTT_BANDS, UNKNOWN_RTT, rttColour } from "../../infra/draw/style";
import { planMesh } from "../../infra/plan";
import { HOSTILE_NAMES, attributeValues, elementTexts, hostileSpec, stackPlan, unescapeXml, xmlError } from "../support/pictures";

interface Drawn {
  node: string;
  x: number;
  y: number;
}

/** Marker centres per node (the first group drawn for it is the world map's; an inset may repeat it). */
function markers(svg: string): Drawn[] {
  const out: Drawn[] = [];
  for (const m of svg.matchAll(/<g class="node [^"]*" data-node="([^"]*)">(?:<title>[^<]*<\/title>)?\n(?:<line [^>]*\/>\n)?<(polygon|rect) ([^>]*)\/>/g)) {
    const node = unescapeXml(m[1] as string);
    if (out.some((d) => d.node === node)) continue;
    const attrs = m[3] as string;
    if (m[2] === "rect") {
      const v = (k: string) => Number(new RegExp(`\\b${k}="([-\\d.]+)"`).exec(attrs)?.[1]);
      out.push({ node, x: v("x") + v("width") / 2, y: v("y") + v("height") / 2 });
    } else {
      const pts = (/points="([^"]*)"/.exec(attrs)?.[1] ?? "").split(" ").map((p) => p.split(",").map(Number) as [number, number]);
      out.push({ node, x: pts.reduce((s, p) => s + p[0], 0) / pts.length, y: pts.reduce((s, p) => s + p[1], 0) / pts.length });
    }
  }
  return out;
}

function linkPaths(svg: string): Map<string, { d: string; stroke: string; dashed: boolean }> {
  const out = new Map<string, { d: string; stroke: string; dashed: boolean }>();
  for (const m of svg.matchAll(/<g class="link" data-link="([^"]*)"><title>[^<]*<\/title>\n<path d="[^"]*" stroke="#ffffff"[^>]*\/><path d="([^"]*)" stroke="([^"]*)"[^>]*?( stroke-dasharray="[^"]*")?\/><\/g>/g)) {
    const id = unescapeXml(m[1] as string);
    if (!out.has(id)) out.set(id, { d: m[2] as string, stroke: m[3] as string, dashed: Boolean(m[4]) });
  }
  return out;
}

function pathPoints(d: string): [number, number][] {
  return [...d.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
}

test("map: well-formed SVG marked as wg-mesh's, naming every node and every link", () => {
  for (const stack of ["staging", "prod"]) {
    const plan = stackPlan(stack);
    const svg = meshToMapSvg(plan, { stack });
    assert.equal(xmlError(svg), undefined, stack);
    assert.ok(isGeneratedSvg(svg));
    const labels = elementTexts(svg, "text");
    for (const n of plan.nodes) assert.ok(labels.includes(n.name), `${stack}: ${n.name} labelled`);
    assert.deepEqual([...new Set(attributeValues(svg, "data-node"))].sort(), plan.nodes.map((n) => n.name).sort());
    assert.deepEqual([...linkPaths(svg).keys()].sort(), plan.links.map((l) => l.id).sort());
    assert.doesNotMatch(svg, /NaN|undefined/);
  }
});

test("map: nodes sit where their sites are (west to east, north to south)", () => {
  const plan = stackPlan("prod");
  const at = new Map(markers(meshToMapSvg(plan, { stack: "prod" })).map((d) => [d.node, d]));
  assert.equal(at.size, plan.nodes.length);
  const x = (n: string) => at.get(n)?.x as number;
  const y = (n: string) => at.get(n)?.y as number;
  for (const [w, e] of [["lax", "ord"], ["ord", "iad"], ["iad", "ireland"], ["ireland", "lhr"], ["lhr", "fra"], ["fra", "sin"], ["sin", "hkg"], ["hkg", "nrt"], ["nrt", "syd"]] as const) {
    assert.ok(x(w) < x(e), `${w} is west of ${e}`);
  }
  for (const [n, s] of [["ireland", "cdg"], ["iad", "gru"], ["hkg", "sin"], ["sin", "syd"]] as const) assert.ok(y(n) < y(s), `${n} is north of ${s}`);
});

test("map: links are great-circle arcs, not straight lines", () => {
  const plan = stackPlan("staging");
  const svg = meshToMapSvg(plan, { stack: "staging" });
  const at = new Map(markers(svg).map((d) => [d.node, d]));
  const arc = pathPoints(linkPaths(svg).get("dub--nrt")?.d ?? "");
  assert.ok(arc.length > 10, `a long arc is drawn with many points (${arc.length})`);
  // Dublin to Tokyo runs over the Arctic side: well north of both ends on the map.
  const top = Math.min(...arc.map((p) => p[1]));
  assert.ok(top < Math.min(y(at, "dub"), y(at, "nrt")) - 50, `arc peaks at y=${top}`);
  const ends = [arc[0], arc[arc.length - 1]] as [number, number][];
  for (const n of ["dub", "nrt"]) assert.ok(ends.some((p) => Math.hypot(p[0] - (at.get(n)?.x as number), p[1] - y(at, n)) < 1), `arc ends at ${n}`);
});

function y(at: Map<string, Drawn>, n: string): number {
  return at.get(n)?.y as number;
}

test("map: each arc is coloured by its round trip; links without a figure are grey and dashed; the legend and note say so", () => {
  const plan = stackPlan("prod");
  const rtts: Record<string, number> = { "iad--ireland": 72, "hkg--ireland": 196, "ireland--syd": 256, "hkg--nrt": 49, "hkg--sin": 34 };
  const model: LatencySource = { linkRtt: (l) => rtts[l.id] ?? (l.id.includes("lhr") ? undefined : 13), kind: "modelled", source: "test table" };
  const svg = meshToMapSvg(plan, { stack: "prod", latency: model });
  const paths = linkPaths(svg);
  for (const l of plan.links) {
    const ms = model.linkRtt(l, plan.nodes[0] as never, plan.nodes[0] as never);
    assert.equal(paths.get(l.id)?.stroke, rttColour(ms), l.id);
    assert.equal(paths.get(l.id)?.dashed, ms === undefined, l.id);
  }
  assert.equal(new Set([...paths.values()].map((p) => p.stroke)).size, 5, "four bands in use and grey");
  const texts = elementTexts(svg, "text");
  for (const b of RTT_BANDS) assert.ok(texts.includes(b.label), `legend: ${b.label}`);
  assert.ok(texts.includes(UNKNOWN_RTT.label));
  assert.ok(texts.some((t) => t.includes("Round trips modelled (test table)")));
  assert.ok(texts.includes("196 ms"), "long arcs carry their figure");
  assert.ok(!elementTexts(meshToMapSvg(plan, { stack: "prod" }), "text").includes(UNKNOWN_RTT.label), "no grey legend entry when every link has a figure");
});

test("map: a node whose site has no coordinates is listed in a note with its links, never silently dropped", () => {
  const plan = planMesh(hostileSpec({ site: "zz9" }));
  const svg = meshToMapSvg(plan, { stack: "x" });
  assert.equal(xmlError(svg), undefined);
  const note = elementTexts(svg, "text").find((t) => t.startsWith("Not on the map"));
  assert.ok(note, "a note");
  assert.match(note, /back\\slash \(site "zz9", 2 links\)/);
  const placed = markers(svg).map((d) => d.node);
  assert.ok(!placed.includes(HOSTILE_NAMES.backend));
  assert.equal(placed.length, 3);
  const withoutCoordinates = meshToMapSvg(plan, { stack: "x", sites: {} });
  assert.equal(xmlError(withoutCoordinates), undefined);
  assert.equal(markers(withoutCoordinates).length, 0);
  assert.match(elementTexts(withoutCoordinates, "text").find((t) => t.startsWith("Not on the map")) ?? "", /end \(site "dub", 3 links\)/);
  assert.equal(meshToMapSvg(plan, { stack: "x", sites: { ...SHIPPED_SITES, ZZ9: { lat: 1, lon: 2 } } }).includes("Not on the map"), false, "site codes match case-blind");
});

test("map: hostile names are escaped and come back exactly", () => {
  const plan = planMesh(hostileSpec());
  const svg = meshToMapSvg(plan, { stack: `<st"ack>` });
  assert.equal(xmlError(svg), undefined);
  const texts = elementTexts(svg, "text");
  for (const name of Object.values(HOSTILE_NAMES)) assert.ok(texts.includes(name), name);
  assert.ok(texts.some((t) => t.includes(`wg-mesh stack <st"ack>`)));
  assert.deepEqual([...linkPaths(svg).keys()].sort(), plan.links.map((l) => l.id).sort());
});

test("map: deterministic, and crowded neighbours get a close-up that names them", () => {
  const plan = stackPlan("prod");
  const svg = meshToMapSvg(plan, { stack: "prod" });
  assert.equal(svg, meshToMapSvg(stackPlan("prod"), { stack: "prod" }));
  const inset = svg.slice(svg.indexOf('<g class="inset">'));
  assert.ok(svg.includes('<g class="inset">'), "the European nodes crowd on a world map");
  for (const n of ["ireland", "lhr", "cdg", "fra"]) assert.ok(elementTexts(inset, "text").includes(n), `${n} named in the close-up`);
  assert.equal(meshToMapSvg(stackPlan("staging"), { stack: "staging" }).includes('<g class="inset">'), false, "staging needs none");
});
