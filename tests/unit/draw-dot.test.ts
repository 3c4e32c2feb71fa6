/** The Graphviz diagram: the DOT text's structure, escaping, and the SVG dot lays out from it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { meshToDot } from "../../infra/draw/dot";
import { PLANNER_ESTIMATES, type LatencySource } from "../../infra/draw/scene";
import { ROLE_STYLE } from "../../infra/draw/style";
import { planMesh } from "../../infra/plan";
import { dotToSvg } from "../../workspace/graphviz";
import { HOSTILE_NAMES, elementTexts, hostileSpec, stackPlan, xmlError } from "../support/pictures";

interface DotNode {
  id: string;
  attrs: string;
}

function unquote(q: string): string {
  return q.slice(1, -1).replace(/\\"/g, '"').replace(/\\\\/g, "\\");
}

const QUOTED = String.raw`"(?:[^"\\]|\\.)*"`;
function parseDot(dot: string): { nodes: DotNode[]; edges: { a: string; b: string; attrs: string }[] } {
  const nodes: DotNode[] = [];
  const edges: { a: string; b: string; attrs: string }[] = [];
  for (const line of dot.split("\n")) {
    const e = new RegExp(`^\\s*(${QUOTED}) -- (${QUOTED}) \\[(.*)\\];$`).exec(line);
    if (e) {
      edges.push({ a: unquote(e[1] as string), b: unquote(e[2] as string), attrs: e[3] as string });
      continue;
    }
    const n = new RegExp(`^\\s*(${QUOTED}) \\[(.*)\\];$`).exec(line);
    if (n) nodes.push({ id: unquote(n[1] as string), attrs: n[2] as string });
  }
  return { nodes, edges };
}

const attr = (attrs: string, name: string): string | undefined => new RegExp(`(?:^|, )${name}=("[^"]*"|[^,]+)`).exec(attrs)?.[1]?.replace(/^"|"$/g, "");

test("DOT: every node once, every planned link once as an edge, nothing else", () => {
  for (const stack of ["staging", "prod"]) {
    const plan = stackPlan(stack);
    const { nodes, edges } = parseDot(meshToDot(plan, { stack }));
    assert.deepEqual(nodes.map((n) => n.id).sort(), plan.nodes.map((n) => n.name).sort(), stack);
    assert.deepEqual(edges.map((e) => [e.a, e.b].sort().join("--")).sort(), plan.links.map((l) => l.id).sort(), stack);
  }
});

/** For each node, the labels of the clusters it is nested in, outermost first. */
function clustersOf(dot: string): Map<string, string[]> {
  const stack: string[] = [];
  const out = new Map<string, string[]>();
  for (const line of dot.split("\n")) {
    if (/^\s*subgraph "cluster_/.test(line)) stack.push("");
    else if (/^\s*}$/.test(line)) stack.pop();
    else if (/^\s*label=</.test(line) && stack.length > 0) stack[stack.length - 1] = (/label=<(.*)>; style/.exec(line)?.[1] ?? "").replace(/<\/?[a-z]+[^>]*>/g, "").trim();
    else {
      const n = new RegExp(`^\\s*(${QUOTED}) \\[`).exec(line);
      if (n && !line.includes(" -- ")) out.set(unquote(n[1] as string), [...stack]);
    }
  }
  return out;
}

test("DOT: nodes sit in their region's cluster inside their area's cluster", () => {
  const plan = stackPlan("prod");
  const clusters = clustersOf(meshToDot(plan, { stack: "prod" }));
  for (const n of plan.nodes) {
    const region = plan.spec.regions.find((r) => r.name === n.region);
    assert.deepEqual(clusters.get(n.name)?.slice(-2), [`${n.area} area`, `${n.region} ${region?.subnet}`], n.name);
  }
});

test("DOT: roles have their own shape and colour; exactly the transit nodes get the double outline and 'forwards'", () => {
  const plan = stackPlan("prod");
  const { nodes } = parseDot(meshToDot(plan, { stack: "prod" }));
  const looks = new Map<string, string>();
  for (const n of plan.nodes) {
    const d = nodes.find((x) => x.id === n.name) as DotNode;
    const look = `${attr(d.attrs, "shape")} ${attr(d.attrs, "fillcolor")}`;
    assert.equal(attr(d.attrs, "fillcolor"), ROLE_STYLE[n.role].fill);
    const prior = looks.get(n.role);
    assert.ok(prior === undefined || prior === look, `${n.role} drawn one way`);
    looks.set(n.role, look);
    assert.equal(attr(d.attrs, "peripheries") === "2", n.forwarding, `${n.name}: double outline iff it forwards`);
    assert.equal(d.attrs.includes("<b>forwards</b>"), n.forwarding, `${n.name}: 'forwards' iff it forwards`);
  }
  assert.equal(new Set(looks.values()).size, 3, `three roles, three looks: ${[...looks.values()].join(" / ")}`);
  assert.deepEqual(plan.nodes.filter((n) => n.forwarding).map((n) => n.name).sort(), ["hkg", "ireland"]);
});

test("DOT: each link is labelled with its round trip from the latency source, and the picture says what kind", () => {
  const plan = stackPlan("staging");
  const estimated = meshToDot(plan, { stack: "staging" });
  for (const e of parseDot(estimated).edges) {
    const link = plan.links.find((l) => l.id === [e.a, e.b].sort().join("--"));
    assert.equal(attr(e.attrs, "label"), `<${link?.weight} ms>`);
  }
  assert.match(estimated, /Round trips estimated \(planner link weights/);

  const model: LatencySource = { linkRtt: (_l, a, b) => (a.site === "hkg" || b.site === "hkg" ? undefined : a.site.length * 10 + b.site.length + 0.4), kind: "modelled", source: "test model" };
  const modelled = meshToDot(plan, { stack: "staging", latency: model });
  assert.match(modelled, /Round trips modelled \(test model\)/);
  for (const e of parseDot(modelled).edges) {
    const touchesHkg = e.a === "hkg" || e.b === "hkg";
    assert.equal(attr(e.attrs, "label"), touchesHkg ? undefined : "<33 ms>", `${e.a} -- ${e.b}`);
  }
  assert.match(modelled, /no figure/, "links without a figure are in the legend");
  assert.doesNotMatch(estimated, /no figure/);
  assert.equal(PLANNER_ESTIMATES.kind, "estimated");
});

test("DOT: hostile names are escaped, dot accepts the graph, and the SVG is well-formed and shows every name", () => {
  const plan = planMesh(hostileSpec());
  const dot = meshToDot(plan, { stack: `st"ack` });
  const { nodes, edges } = parseDot(dot);
  assert.deepEqual(nodes.map((n) => n.id).sort(), Object.values(HOSTILE_NAMES).sort());
  assert.equal(edges.length, plan.links.length);
  assert.doesNotMatch(dot, /a"b<c>&d/, "the raw name never reaches DOT");
  assert.ok(!dot.includes("\u0001"), "control characters are spelled out");
  const svg = dotToSvg(dot);
  assert.equal(xmlError(svg), undefined);
  const texts = elementTexts(svg, "text");
  for (const name of Object.values(HOSTILE_NAMES)) assert.ok(texts.includes(name), `${name} shown as written: ${texts.join(" | ")}`);
  assert.ok(texts.some((t) => t.includes(`eu "west" & <north>`)), "area names too");
  assert.ok(texts.some((t) => t.includes("pop`s\\x01")), "region name with its control character spelled out");
});

test("DOT: the same plan gives the same text", () => {
  const plan = stackPlan("prod");
  assert.equal(meshToDot(plan, { stack: "prod" }), meshToDot(stackPlan("prod"), { stack: "prod" }));
});
