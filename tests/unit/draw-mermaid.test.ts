/** The Mermaid flowchart: a structural parse of the text, every node and link, roles, transit, escaping. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { meshToMermaid } from "../../infra/draw/mermaid";
import type { LatencySource } from "../../infra/draw/scene";
import { planMesh } from "../../infra/plan";
import { HOSTILE_NAMES, hostileSpec, parseMermaid, stackPlan } from "../support/pictures";

const nameOf = (label: string): string => (/^<b>(.*?)<\/b>/.exec(label)?.[1] ?? "");

test("Mermaid: parses as a flowchart; every node once, every planned link once, in its area and region", () => {
  for (const stack of ["staging", "prod"]) {
    const plan = stackPlan(stack);
    const text = meshToMermaid(plan, { stack });
    const g = parseMermaid(text);
    assert.deepEqual(g.nodes.map((n) => nameOf(n.label)).sort(), plan.nodes.map((n) => n.name).sort());
    const idName = new Map(g.nodes.map((n) => [n.id, nameOf(n.label)]));
    assert.deepEqual(g.links.map((l) => [idName.get(l.a), idName.get(l.b)].sort().join("--")).sort(), plan.links.map((l) => l.id).sort());
    assert.deepEqual(g.linkStyles, g.links.map((_, i) => i), "one colour per link");
    const areas = g.subgraphs.filter((s) => s.depth === 1).map((s) => s.label);
    assert.deepEqual(areas.sort(), [...new Set(plan.nodes.map((n) => `${n.area} (area)`))].sort());
    // Each node line sits right after its region's subgraph line or a sibling node of the same region.
    const lines = text.split("\n").map((l) => l.trim());
    for (const n of plan.nodes) {
      const id = g.nodes.find((x) => nameOf(x.label) === n.name)?.id as string;
      let at = lines.findIndex((l) => l.startsWith(`${id}(`) || l.startsWith(`${id}{`));
      while (!lines[at]?.startsWith("subgraph ")) at--;
      assert.match(lines[at] as string, new RegExp(`\\["${n.region} `), `${n.name} in region ${n.region}`);
      while (!lines[at - 1]?.startsWith("subgraph ") || lines[at - 1]?.includes("region_")) at--;
      assert.match(lines[at - 1] as string, new RegExp(`\\["${n.area} #40;area#41;"\\]|\\["${n.area} \\(area\\)"\\]`), `${n.name} in area ${n.area}`);
    }
  }
});

test("Mermaid: one shape and class per role; transit nodes carry the forwards class and say so", () => {
  const plan = stackPlan("prod");
  const g = parseMermaid(meshToMermaid(plan, { stack: "prod" }));
  const shapeOf = new Map<string, Set<string>>();
  for (const n of plan.nodes) {
    const m = g.nodes.find((x) => nameOf(x.label) === n.name);
    assert.ok(m);
    (shapeOf.get(n.role) ?? shapeOf.set(n.role, new Set()).get(n.role))?.add(m.shape);
    assert.equal(g.classes.get(m.id), `${n.role}${n.forwarding ? "_forwards" : ""}`, n.name);
    assert.equal(m.label.includes("forwards"), n.forwarding, n.name);
  }
  assert.deepEqual([...shapeOf.values()].map((s) => s.size), [1, 1, 1]);
  assert.equal(new Set([...shapeOf.values()].map((s) => [...s][0])).size, 3, "three roles, three shapes");
});

test("Mermaid: links labelled with the source's round trips; the title says what kind they are", () => {
  const plan = stackPlan("staging");
  const g = parseMermaid(meshToMermaid(plan, { stack: "staging" }));
  const idName = new Map(g.nodes.map((n) => [n.id, nameOf(n.label)]));
  for (const l of g.links) {
    const link = plan.links.find((x) => x.id === [idName.get(l.a), idName.get(l.b)].sort().join("--"));
    assert.equal(l.label, `${link?.weight} ms`);
  }
  assert.match(g.title ?? "", /^wg-mesh stack staging: 5 nodes, 6 links.*Round trips estimated/);
  const measured: LatencySource = { linkRtt: (l) => (l.a === "dub" ? 7.25 : undefined), kind: "measured", source: "lab" };
  const m = parseMermaid(meshToMermaid(plan, { stack: "staging", latency: measured }));
  assert.match(m.title ?? "", /Round trips measured \(lab\)/);
  assert.deepEqual(m.links.map((l) => l.label ?? null), plan.links.map((l) => (l.a === "dub" ? "7.3 ms" : null)));
});

test("Mermaid: hostile names stay text: no keyword ids, no raw quotes or markup, every name decodes back", () => {
  const plan = planMesh(hostileSpec());
  const text = meshToMermaid(plan, { stack: "x" });
  const g = parseMermaid(text);
  assert.deepEqual(g.nodes.map((n) => nameOf(n.label)).sort(), Object.values(HOSTILE_NAMES).sort());
  assert.ok(g.nodes.every((n) => n.id.startsWith("n_")), "node ids are prefixed, so `end` cannot close a subgraph");
  assert.doesNotMatch(text, /a"b/);
  assert.doesNotMatch(text, /<c>/);
  assert.ok(g.subgraphs.some((s) => s.label === `eu "west" & <north> (area)`));
  assert.ok(g.subgraphs.some((s) => s.label.startsWith("pop`s\\x01 ")), "control characters spelled out");
  assert.equal(new Set(g.subgraphs.map((s) => s.id)).size, g.subgraphs.length, "subgraph ids are unique");
});

test("Mermaid: the structural check refuses what would break Mermaid", () => {
  const good = meshToMermaid(stackPlan("staging"), { stack: "staging" });
  assert.doesNotThrow(() => parseMermaid(good));
  assert.throws(() => parseMermaid(good.replace("n_dub{{\"", 'end{{"')), /keyword/);
  assert.throws(() => parseMermaid(good.replace("<b>fra</b>", '<b>f"ra</b>')), /raw quote/);
  assert.throws(() => parseMermaid(good.replace(/\n {4}end\n/, "\n")), /not closed/);
  assert.throws(() => parseMermaid(good.replace("n_dub ---", "n_nobody ---")), /undefined node/);
});
