/**
 * A node behind NAT, or a backend (a node not meant to carry others' traffic), is never the
 * inside of a path; an explicit link that would make one the cheapest way between two others
 * is refused with the reason, at the path where the link is declared.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ConfigIssue, MeshSpec, NodeSpec } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { refusalIssues } from "../support/raw-config";
import { seedSpec } from "../support/seed-spec";

function issuesOf(spec: MeshSpec): ConfigIssue[] {
  return refusalIssues(() => planMesh(spec), "the plan");
}

function withLinks(spec: MeshSpec, node: string, links: NodeSpec["links"]): MeshSpec {
  return { ...spec, nodes: spec.nodes.map((n) => (n.name === node ? { ...n, links } : n)) };
}

const laptop: NodeSpec = { name: "laptop", role: "backend", region: "central", site: "dub", address: "10.50.0.9", cloud: "external", external: {}, links: [] };

test("a backend made cheap by an explicit link is refused with the reason: nrt would carry HKG's traffic for GRU", () => {
  const issues = issuesOf(withLinks(seedSpec(), "nrt", [{ peer: "gru", weight: 1 }]));
  // Of every pair the link would reroute through nrt (or gru), the one that needs the largest weight.
  assert.deepEqual(issues, [
    {
      path: "nodes.nrt.links[0]",
      message:
        "with weight 1 this link makes nrt (a backend) the cheapest way between gru and hkg (54 ms through nrt, 368 ms without), but backends run workloads and do not carry others' traffic (by default only hub and pop nodes do); give it a weight above 315 ms, link gru and hkg directly, or set nodes.nrt.transit: true to let it",
    },
  ]);
  // The weight the message names is enough, for every pair at once.
  const plan = planMesh(withLinks(seedSpec(), "nrt", [{ peer: "gru", weight: 315.5 }]));
  assert.deepEqual(plan.routes.pathOf("hkg", "gru"), ["hkg", "ireland", "gru"]);
  assert.deepEqual(plan.routes.pathOf("nrt", "gru"), ["nrt", "gru"], "the link still carries its own ends' traffic");
  assert.ok(!plan.nodes.find((n) => n.name === "nrt")?.forwarding);
});

test("a node behind NAT made cheap by an explicit link is refused, even declared from the other end", () => {
  const spec = seedSpec();
  spec.nodes = [...spec.nodes, laptop];
  const hkg = spec.nodes.find((n) => n.name === "hkg") as NodeSpec;
  hkg.links = [{ peer: "laptop", weight: 1 }];
  const issues = issuesOf(spec);
  assert.equal(issues.length, 1, JSON.stringify(issues));
  assert.equal(issues[0]?.path, "nodes.hkg.links[0]");
  assert.match(issues[0]?.message ?? "", /^with weight 1 this link makes laptop \(behind NAT\) the cheapest way between \w+ and \w+ .* but it sits behind NAT, reachable only while its keepalives hold a mapping open, so it never carries others' traffic/);
});

test("without explicit links a full mesh never routes through a NATed node or a backend, though they tie with the hub", () => {
  const spec = seedSpec({ topology: "full" });
  spec.nodes = [...spec.nodes, laptop, { ...laptop, name: "desk", address: "10.50.0.10" }];
  const plan = planMesh(spec);
  const names = plan.routes.names;
  const transit = new Set(names.flatMap((a) => names.flatMap((b) => (a === b ? [] : (plan.routes.pathOf(a, b) ?? []).slice(1, -1)))));
  for (const name of transit) {
    const node = plan.nodes.find((n) => n.name === name);
    assert.ok(node && (node.role === "hub" || node.role === "pop") && node.hasPublicEndpoint, `${name} carries others' traffic`);
  }
  // Two NATed nodes cannot link, so they meet at a router.
  assert.equal(plan.routes.pathOf("laptop", "desk")?.length, 3);
  assert.ok(["ireland", "hkg"].includes(plan.routes.pathOf("laptop", "desk")?.[1] as string));
});

test("explicit links that reroute nothing through a spoke, and cheap links through a POP, are accepted", () => {
  // 70 ms, about the measured round trip: cheaper than nrt -> hkg -> sin, dearer than hkg's own ways.
  const between = planMesh(withLinks(seedSpec(), "nrt", [{ peer: "sin", weight: 70 }]));
  assert.deepEqual(between.routes.pathOf("nrt", "sin"), ["nrt", "sin"]);
  // About the measured round trip: cheaper for APAC than going round by Ireland, too dear to make gru anyone's way.
  const viaPop = planMesh(withLinks(seedSpec(), "hkg", [{ peer: "gru", weight: 300 }]));
  assert.deepEqual(viaPop.routes.pathOf("nrt", "gru"), ["nrt", "hkg", "gru"], "a POP may carry others' traffic");
  assert.ok(viaPop.nodes.find((n) => n.name === "hkg")?.forwarding);
});
