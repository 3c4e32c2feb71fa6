/**
 * Adding a node to a stack file and removing one (`wgmesh add-node`, `remove-node`) without touching
 * anything else in it: yaml's Document API finds the `nodes` and `regions` maps and where each entry
 * starts and ends, and the change is spliced into the text there, in the style of the entries beside
 * it (their indentation, flow or block maps, whether they name their site). Every other byte stays,
 * comments and blank lines included. The result is read back and must hold exactly the intended
 * data, or nothing is written: a file whose layout the splice cannot follow is refused in one line.
 */
import { isDeepStrictEqual } from "node:util";
import { isMap, isScalar, parseDocument, type Pair, type YAMLMap } from "yaml";
import { CONFIG_KEY } from "../infra/config";
import { UserError } from "../infra/errors";
import type { PlacedNode } from "../infra/place-node";

interface Ranged {
  range?: [number, number, number] | null;
}

interface MeshMaps {
  nodes: YAMLMap;
  regions: YAMLMap;
}

/** The `nodes` and `regions` block maps of the file's mesh declaration. */
function meshMaps(text: string, label: string): MeshMaps {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new UserError(`${label}: not YAML wg-mesh can read (${doc.errors[0]?.message.split("\n")[0]}); fix it first (wgmesh plan says more)`);
  const mesh = doc.getIn(["config", CONFIG_KEY], true);
  if (!isMap(mesh)) throw new UserError(`${label}: no ${CONFIG_KEY} map under config; declare the mesh there first (wgmesh init writes one)`);
  const map = (key: "nodes" | "regions"): YAMLMap => {
    const m = mesh.get(key, true);
    if (!isMap(m) || m.items.length === 0) throw new UserError(`${label}: ${CONFIG_KEY} has no ${key}; declare at least one first`);
    if (m.flow) throw new UserError(`${label}: ${key} is written as a flow map ({ ... }); wg-mesh adds to block maps only: write ${key} one entry per line, or edit it by hand`);
    return m;
  };
  return { nodes: map("nodes"), regions: map("regions") };
}

const rangeOf = (node: unknown): [number, number, number] => {
  const r = (node as Ranged | null)?.range;
  if (!r) throw new Error("a parsed node without its place in the text");
  return r;
};

/** The offset just after the line holding `pos - 1`: where a line after that one starts. */
function afterLine(text: string, pos: number): number {
  if (pos > 0 && text[pos - 1] === "\n") return pos;
  const nl = text.indexOf("\n", pos);
  return nl < 0 ? text.length : nl + 1;
}

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf("\n", pos - 1) + 1;
}

const column = (text: string, pos: number): number => pos - lineStart(text, pos);

/** A scalar as YAML writes it: plain when it reads back as the same string, else double-quoted. */
function scalar(value: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._/:-]*$/.test(value) && !/^(true|false|null|~|-?\d+(\.\d+)?)$/i.test(value) ? value : JSON.stringify(value);
}

const flowMap = (values: Record<string, string>): string => `{ ${Object.entries(values).map(([k, v]) => `${k}: ${scalar(v)}`).join(", ")} }`;

/** An entry of a block map, in the style of `sibling` (the map's last entry): block or flow, same indentation. */
function entryLike(text: string, sibling: Pair, key: string, values: Record<string, string | Record<string, string>>, placementKey?: string): string {
  const indent = " ".repeat(column(text, rangeOf(sibling.key)[0]));
  const value = sibling.value;
  if (!isMap(value) || value.flow) {
    const flat = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? scalar(v) : flowMap(v)]));
    // Values lined up in a column, as prod's regions are, stay lined up.
    const valueColumn = value ? column(text, rangeOf(value)[0]) : 0;
    return `${`${indent}${scalar(key)}:`.padEnd(valueColumn - 1)} { ${Object.entries(flat).map(([k, v]) => `${k}: ${v}`).join(", ")} }\n`;
  }
  const first = value.items[0];
  const inner = " ".repeat(first ? column(text, rangeOf(first.key)[0]) : indent.length + 2);
  // The sibling's own placement map (aws:, gcp:, ...) decides whether ours is written flow or block.
  const siblingPlacement = value.items.find((p) => isScalar(p.key) && ["aws", "gcp", "azure", "external"].includes(String(p.key.value)))?.value;
  const placementFlow = !isMap(siblingPlacement) || siblingPlacement.flow;
  const lines = [`${indent}${scalar(key)}:`];
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === "string") lines.push(`${inner}${k}: ${scalar(v)}`);
    else if (k !== placementKey || placementFlow) lines.push(`${inner}${k}: ${flowMap(v)}`);
    else {
      const deeper = `${inner}  `;
      lines.push(`${inner}${k}:`, ...Object.entries(v).map(([kk, vv]) => `${deeper}${kk}: ${scalar(vv)}`));
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Text inserted after the line where `after` ends, with a newline before it when the file had none at its end. */
function insertAfter(text: string, after: unknown, insertion: string): string {
  const at = afterLine(text, rangeOf(after)[2]);
  const head = text.slice(0, at);
  return `${head}${head.endsWith("\n") ? "" : "\n"}${insertion}${text.slice(at)}`;
}

/** The declaration's data, as the file holds it. */
const dataOf = (text: string): unknown => parseDocument(text).toJS() as unknown;

function mustRead(label: string, edited: string, expected: unknown, doing: string, byHand: string): string {
  if (!isDeepStrictEqual(dataOf(edited), expected)) {
    throw new UserError(`${label}: wg-mesh cannot ${doing} and keep the file's layout as it is; make the change by hand: ${byHand}`);
  }
  return edited;
}

/** The stack file's text with the node (and its new region, if any) added at the end of nodes (and regions). */
export function addNodeText(text: string, label: string, node: PlacedNode): string {
  const { nodes, regions } = meshMaps(text, label);
  const last = nodes.items.at(-1) as Pair;
  const siblingNamesSite = isMap(last.value) && last.value.has("site");
  const values: Record<string, string | Record<string, string>> = {
    role: node.role,
    region: node.region,
    ...(siblingNamesSite || !node.siteFromPlacement ? { site: node.site } : {}),
    address: node.address,
    cloud: node.cloud,
    [node.cloud]: node.placement,
  };
  let edited = text;
  const expected = dataOf(text) as { config: Record<string, { nodes: Record<string, unknown>; regions: Record<string, unknown> }> };
  const mesh = expected.config[CONFIG_KEY] as { nodes: Record<string, unknown>; regions: Record<string, unknown> };
  // The region first: it comes before nodes in the file, so the nodes' offsets are read afresh after.
  if (node.newRegion) {
    const lastRegion = regions.items.at(-1) as Pair;
    mesh.regions[node.newRegion.name] = { subnet: node.newRegion.subnet, area: node.newRegion.area };
    edited = insertAfter(edited, lastRegion.value ?? lastRegion.key, entryLike(edited, lastRegion, node.newRegion.name, { subnet: node.newRegion.subnet, area: node.newRegion.area }));
  }
  const again = meshMaps(edited, label).nodes.items.at(-1) as Pair;
  mesh.nodes[node.name] = values;
  const entry = entryLike(edited, again, node.name, values, node.cloud);
  edited = insertAfter(edited, again.value ?? again.key, entry);
  return mustRead(label, edited, expected, `add node ${node.name}`, `under nodes, ${entry.trim().replace(/\n\s*/g, "; ")}`);
}

/** The stack file's text without the node: its entry's lines go, comments above it stay. */
export function removeNodeText(text: string, label: string, name: string): string {
  const { nodes } = meshMaps(text, label);
  const pair = nodes.items.find((p) => isScalar(p.key) && String(p.key.value) === name);
  if (!pair) {
    const names = nodes.items.map((p) => (isScalar(p.key) ? String(p.key.value) : "?"));
    throw new UserError(`nodes.${name}: ${label} has no such node (it has ${names.join(", ")})`);
  }
  const start = lineStart(text, rangeOf(pair.key)[0]);
  const end = afterLine(text, rangeOf(pair.value ?? pair.key)[2]);
  const edited = text.slice(0, start) + text.slice(end);
  const expected = dataOf(text) as { config: Record<string, { nodes: Record<string, unknown> }> };
  delete (expected.config[CONFIG_KEY] as { nodes: Record<string, unknown> }).nodes[name];
  return mustRead(label, edited, expected, `remove node ${name}`, `delete nodes.${name}`);
}
