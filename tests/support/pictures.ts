/** Reading pictures back in tests: XML checked by a real parser, SVG text and titles, Mermaid's structure. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadStackConfig } from "../../infra/config";
import type { MeshPlan, MeshSpec } from "../../infra/model";
import { planMesh } from "../../infra/plan";

export const REPO = resolve(__dirname, "..", "..");

export function stackPlan(stack: string): MeshPlan {
  return planMesh(loadStackConfig(readFileSync(join(REPO, `Pulumi.${stack}.yaml`), "utf8"), `Pulumi.${stack}.yaml`));
}

/**
 * A mesh whose names try to break every format: a Mermaid keyword, DOT and XML metacharacters,
 * quotes, a backslash. Built in code because the config loader would (rightly) refuse them.
 */
export const HOSTILE_NAMES = { hub: `end`, pop: `a"b<c>&d`, backend: `back\\slash`, other: `graph` } as const;
export function hostileSpec(overrides: { site?: string } = {}): MeshSpec {
  const { hub, pop, backend, other } = HOSTILE_NAMES;
  return {
    overlay: "10.9.0.0/16",
    listenPort: 51820,
    persistentKeepalive: 25,
    mtu: "auto",
    topology: "regional",
    hub,
    keyEpoch: 1,
    presharedKeys: false,
    adminCidrs: [],
    peerStacks: [],
    regions: [
      { name: "core", subnet: "10.9.0.0/24", area: `eu "west" & <north>` },
      { name: "pop`s\u0001", subnet: "10.9.1.0/24", area: "ap#ac" },
      { name: "edge", subnet: "10.9.2.0/24", area: "ap#ac" },
    ],
    nodes: [
      { name: hub, role: "hub", region: "core", site: "dub", address: "10.9.0.1", cloud: "aws", aws: { region: "eu-west-1" }, links: [] },
      { name: pop, role: "pop", region: "pop`s\u0001", site: "hkg", address: "10.9.1.1", cloud: "aws", aws: { region: "ap-east-1" }, links: [] },
      { name: backend, role: "backend", region: "edge", site: overrides.site ?? "nrt", address: "10.9.2.1", cloud: "aws", aws: { region: "ap-northeast-1" }, links: [] },
      { name: other, role: "backend", region: "edge", site: "sin", address: "10.9.2.2", cloud: "aws", aws: { region: "ap-southeast-1" }, links: [] },
    ],
  };
}

/** Python's expat, a strict XML parser: undefined when well-formed, else its error. */
export function xmlError(text: string): string | undefined {
  const script = "import sys, xml.parsers.expat\np = xml.parsers.expat.ParserCreate()\ntry:\n  p.Parse(sys.stdin.buffer.read(), True)\nexcept xml.parsers.expat.ExpatError as e:\n  print(e)\n  sys.exit(1)\n";
  const r = spawnSync("python3", ["-c", script], { input: text, encoding: "utf8" });
  if (r.error) throw new Error(`python3 is needed to check XML: ${r.error.message}`);
  return r.status === 0 ? undefined : r.stdout.trim() || r.stderr.trim();
}

export function unescapeXml(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}

/** The text of every element named `tag` (no nesting of the same tag), unescaped. */
export function elementTexts(svg: string, tag: string): string[] {
  return [...svg.matchAll(new RegExp(`<${tag}\\b[^>]*>([\\s\\S]*?)</${tag}>`, "g"))].map((m) => unescapeXml((m[1] as string).replace(/<[^>]+>/g, "")));
}

/** Values of one attribute across the document, unescaped. */
export function attributeValues(svg: string, name: string): string[] {
  return [...svg.matchAll(new RegExp(`\\s${name}="([^"]*)"`, "g"))].map((m) => unescapeXml(m[1] as string));
}

export interface MermaidNode {
  id: string;
  shape: string;
  label: string;
}

export interface MermaidGraph {
  title?: string;
  nodes: MermaidNode[];
  links: { a: string; b: string; label?: string }[];
  subgraphs: { id: string; label: string; depth: number }[];
  classes: Map<string, string>;
  linkStyles: number[];
}

const SHAPES: [string, string, string][] = [
  ["{{", "}}", "hexagon"],
  ["([", "])", "stadium"],
  ["(", ")", "rounded"],
  ["[", "]", "rect"],
];
const RESERVED = new Set(["end", "graph", "subgraph", "flowchart", "class", "classDef", "style", "linkStyle", "click", "direction"]);

/** Mermaid entity codes (#34; or #quot;) back to characters. */
export function decodeMermaid(text: string): string {
  return text.replace(/#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d))).replace(/#quot;/g, '"');
}

/**
 * A structural parse of the flowchart subset wg-mesh writes, strict enough to catch what breaks
 * Mermaid: an unknown statement, a quote inside a label, an unbalanced subgraph, a keyword as an
 * id, a link or class naming an undefined node, a linkStyle past the last link.
 */
export function parseMermaid(text: string): MermaidGraph {
  const lines = text.split("\n");
  const g: MermaidGraph = { nodes: [], links: [], subgraphs: [], classes: new Map(), linkStyles: [] };
  let i = 0;
  if (lines[0] === "---") {
    const end = lines.indexOf("---", 1);
    if (end < 0) throw new Error("frontmatter is not closed");
    for (const l of lines.slice(1, end)) {
      const m = /^title: (".*")$/.exec(l);
      if (!m) throw new Error(`frontmatter line is not a quoted title: ${l}`);
      g.title = JSON.parse(m[1] as string) as string;
    }
    i = end + 1;
  }
  if (lines[i] !== "flowchart LR" && lines[i] !== "flowchart TB") throw new Error(`expected a flowchart header, got ${JSON.stringify(lines[i])}`);
  const ident = /^[A-Za-z][A-Za-z0-9_]*$/;
  const checkId = (id: string): void => {
    if (!ident.test(id)) throw new Error(`bad id ${JSON.stringify(id)}`);
    if (RESERVED.has(id) || RESERVED.has(id.toLowerCase())) throw new Error(`id ${id} is a Mermaid keyword`);
  };
  const label = (quoted: string): string => {
    if (!quoted.startsWith('"') || !quoted.endsWith('"') || quoted.length < 2) throw new Error(`label not quoted: ${quoted}`);
    const inner = quoted.slice(1, -1);
    if (inner.includes('"')) throw new Error(`raw quote inside label: ${quoted}`);
    if (inner.startsWith("`")) throw new Error(`label would be read as Markdown: ${quoted}`);
    return inner;
  };
  let depth = 0;
  const classDefs = new Set<string>();
  const classUses: [string, string][] = [];
  for (const raw of lines.slice(i + 1)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("%%")) continue;
    let m: RegExpExecArray | null;
    if ((m = /^subgraph (\S+)\[(".*")\]$/.exec(line))) {
      checkId(m[1] as string);
      depth++;
      g.subgraphs.push({ id: m[1] as string, label: decodeMermaid(label(m[2] as string)), depth });
    } else if (line === "end") {
      if (--depth < 0) throw new Error("end without subgraph");
    } else if ((m = /^(\S+) ---(?:\|(".*")\|)? (\S+)$/.exec(line))) {
      g.links.push({ a: m[1] as string, b: m[3] as string, ...(m[2] ? { label: decodeMermaid(label(m[2])) } : {}) });
    } else if ((m = /^linkStyle (\d+) [a-z-]+:[^\s]+$/.exec(line))) {
      g.linkStyles.push(Number(m[1]));
    } else if ((m = /^classDef ([A-Za-z_][A-Za-z0-9_]*) ([a-z-]+:[^,\s]+)(,[a-z-]+:[^,\s]+)*$/.exec(line))) {
      classDefs.add(m[1] as string);
    } else if ((m = /^class ([A-Za-z0-9_,]+) ([A-Za-z_][A-Za-z0-9_]*)$/.exec(line))) {
      for (const id of (m[1] as string).split(",")) classUses.push([id, m[2] as string]);
    } else {
      const shape = SHAPES.find(([open, close]) => {
        const at = line.indexOf(open);
        return at > 0 && line.endsWith(close) && ident.test(line.slice(0, at)) && line.slice(at + open.length).startsWith('"');
      });
      if (!shape) throw new Error(`not a statement wg-mesh writes: ${line}`);
      const at = line.indexOf(shape[0]);
      const id = line.slice(0, at);
      checkId(id);
      if (g.nodes.some((n) => n.id === id)) throw new Error(`node ${id} defined twice`);
      g.nodes.push({ id, shape: shape[2], label: decodeMermaid(label(line.slice(at + shape[0].length, line.length - shape[1].length))) });
    }
  }
  if (depth !== 0) throw new Error(`${depth} subgraph(s) not closed`);
  const ids = new Set(g.nodes.map((n) => n.id));
  for (const l of g.links) if (!ids.has(l.a) || !ids.has(l.b)) throw new Error(`link ${l.a} --- ${l.b} names an undefined node`);
  for (const s of g.linkStyles) if (s >= g.links.length) throw new Error(`linkStyle ${s} but only ${g.links.length} links`);
  for (const [id, cls] of classUses) {
    if (!ids.has(id)) throw new Error(`class on undefined node ${id}`);
    if (!classDefs.has(cls)) throw new Error(`class ${cls} is not defined`);
    g.classes.set(id, cls);
  }
  return g;
}
