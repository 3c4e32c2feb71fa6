/**
 * topology auto on the seed and on generated meshes over the shipped world: every pair within
 * max(maxStretch x direct, direct + 5 ms) where that is possible, no node above maxPeers, nodes
 * behind NAT never linked to each other or used as transit, the same links for the same
 * declaration, misses reported with their amounts where the bounds cannot both hold, and
 * better than the bounded-degree greedy spanner it starts from.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { planConnected } from "../../bench/compare";
import { greedySpanner } from "../../bench/greedy-spanner";
import { worldMeshConfig } from "../../bench/world-mesh";
import { parseMeshConfig } from "../../infra/config";
import { latencyModelFor } from "../../infra/latency/model";
import type { MeshPlan, MeshSpec } from "../../infra/model";
import { possibleLocalLinks } from "../../infra/local-links";
import { planMesh } from "../../infra/plan";
import { boundOf } from "../../infra/plan/auto";
import { behindNat, mayCarryTransit } from "../../infra/plan/transit";
import { simulatePlanSummary } from "../../infra/simulate/plan";
import { walk } from "../support/plan-walk";
import { seedSpec } from "../support/seed-spec";

function world(n: number, opts: Parameters<typeof worldMeshConfig>[1] = { topology: "auto" }): MeshSpec {
  return parseMeshConfig(worldMeshConfig(n, opts));
}

/**
 * The same fleet with every public node a candidate router (one POP per metro, backends allowed to
 * forward): how the tests of auto's design under tight bounds and few peers see it, apart from who
 * may carry transit, which the tests of transit take on.
 */
function everyPublicNodeRoutes(n: number, opts: Parameters<typeof worldMeshConfig>[1]): MeshSpec {
  return parseMeshConfig({ ...worldMeshConfig(n, { nodesPerPop: Number.POSITIVE_INFINITY, ...opts }), transitRoles: ["hub", "pop", "backend"] });
}

/** The rules auto promises, checked on the plan itself. */
function holdsRules(plan: MeshPlan, maxPeers: number): void {
  const byName = new Map(plan.nodes.map((n) => [n.name, n]));
  for (const n of plan.nodes) assert.ok(n.peers.length <= maxPeers, `${n.name} has ${n.peers.length} peers`);
  for (const l of plan.links) assert.ok(byName.get(l.a)?.hasPublicEndpoint || byName.get(l.b)?.hasPublicEndpoint, `${l.id} links two nodes behind NAT`);
  for (const n of plan.nodes) if (!n.hasPublicEndpoint) assert.equal(n.forwarding, false, `${n.name} is behind NAT and carries traffic`);
  for (const n of plan.spec.nodes) if (!mayCarryTransit(n, plan.spec)) assert.equal(plan.nodes.find((x) => x.name === n.name)?.forwarding, false, `${n.name} may not carry transit and does`);
  assert.equal(plan.latency?.unknown, 0);
}

test("prod under auto: all 132 pairs within the bound, each checked against the model by hand", () => {
  const plan = planMesh(seedSpec({ topology: "auto" }));
  holdsRules(plan, 16);
  const model = latencyModelFor(plan.spec);
  const siteOf = new Map(plan.nodes.map((n) => [n.name, n.site]));
  const rtt = (a: string, b: string) => model.rttMs(siteOf.get(a) as string, siteOf.get(b) as string) as number;
  let within = 0;
  for (const a of plan.nodes) {
    for (const b of plan.nodes) {
      if (a === b) continue;
      const path = plan.routes.pathOf(a.name, b.name) as string[];
      assert.deepEqual(walk(plan, a.name, b.name).path, path, "AllowedIPs carry the planned path");
      let ms = 0;
      for (let i = 1; i < path.length; i++) ms += rtt(path[i - 1] as string, path[i] as string);
      if (Math.round(ms * 1000) <= Math.round(boundOf(rtt(a.name, b.name), { maxStretch: 1.3, slackMs: 5 }) * 1000)) within++;
    }
  }
  assert.equal(within, 132);
  assert.equal(plan.latency?.withinBound, 132);
  const sim = simulatePlanSummary(plan);
  assert.equal(sim.reachable, 132);
});

test("auto is deterministic: the same links whatever the order of the nodes", () => {
  const spec = world(120, { topology: "auto", seed: 7, natShare: 0.2 });
  const a = planMesh(spec);
  const b = planMesh({ ...spec, nodes: [...spec.nodes].reverse() });
  assert.deepEqual(
    b.links.map((l) => l.id),
    a.links.map((l) => l.id),
  );
});

test("generated world meshes of 30 to 1000 nodes, only hub and POPs routing: every pair within the bound, maxPeers held, rules kept", () => {
  for (const [n, seed, natShare] of [
    [30, 1, 0.1],
    [100, 2, 0.1],
    [1000, 1, 0.1],
  ] as const) {
    const plan = planMesh(world(n, { topology: "auto", seed, natShare }));
    holdsRules(plan, 16);
    const r = plan.latency;
    assert.equal(r?.misses, 0, `${n} nodes: ${r?.missed.map((m) => `${m.from}->${m.to} ${m.pathMs}/${m.boundMs}`).join(", ")}`);
    assert.equal(r?.withinBound, n * (n - 1));
    if (n <= 250) assert.equal(simulatePlanSummary(plan).reachable, n * (n - 1), `${n} nodes reachable in the simulator`);
  }
});

test("a tighter bound and fewer peers are honoured where they can be", () => {
  const plan = planMesh(everyPublicNodeRoutes(100, { topology: "auto", seed: 2, maxStretch: 1.5, maxPeers: 8 }));
  holdsRules(plan, 8);
  assert.equal(plan.latency?.misses, 0);
  assert.ok((plan.latency?.stretch.max ?? 0) > 1.3, "the looser bound is used, not the default");
});

test("when both bounds cannot hold: planned anyway, every pair reachable, each miss with its amount", () => {
  // Four peers per node over 60 metros cannot keep every pair within 5 ms of its direct round trip.
  const plan = planMesh(everyPublicNodeRoutes(60, { topology: "auto", seed: 1, natShare: 0, maxStretch: 1, maxPeers: 4 }));
  holdsRules(plan, 4);
  const r = plan.latency;
  assert.ok(r && r.misses > 0 && r.withinBound + r.misses === r.pairs);
  for (const m of r.missed) {
    assert.ok(m.pathMs > m.boundMs, `${m.from} -> ${m.to} listed as a miss`);
    assert.equal(m.boundMs, Math.round(boundOf(m.directMs, r.bound) * 10) / 10);
  }
  assert.ok((r.missed[0]?.pathMs ?? 0) - (r.missed[0]?.boundMs ?? 0) >= (r.missed.at(-1)?.pathMs ?? 0) - (r.missed.at(-1)?.boundMs ?? 0), "largest excess first");
  assert.equal(simulatePlanSummary(plan).reachable, 60 * 59);
});

test("against the greedy spanner: the plain one breaks maxPeers, the bounded-degree one misses pairs auto keeps", (t) => {
  const spec = world(150, { topology: "auto", seed: 1, natShare: 0.1, maxPeers: 6 });
  const auto = planMesh(spec, { checkSizes: false });
  const nodes = spec.nodes.map((n) => ({ name: n.name, site: n.site, public: !behindNat(n), transit: mayCarryTransit(n, spec) }));
  const bound = { maxStretch: 1.3, slackMs: 5 };
  const plain = planConnected(spec, greedySpanner(nodes, latencyModelFor(spec), bound, undefined));
  // Capped, the greedy spanner may leave a node with no path at all (only hub and POPs relay): it then keeps no pair within the bound.
  const capped = planConnected(spec, greedySpanner(nodes, latencyModelFor(spec), bound, 6));
  const peers = (p: MeshPlan | undefined) => (p ? Math.max(...p.nodes.map((n) => n.peers.length)) : 0);
  const within = (p: MeshPlan | undefined) => p?.latency?.withinBound ?? 0;
  for (const [label, p] of [["auto", auto], ["greedy", plain], ["greedy, capped", capped]] as const) {
    t.diagnostic(p ? `${label}: ${p.links.length} links, max ${peers(p)} peers, ${within(p)} of ${p.latency?.pairs} pairs within the bound, max stretch ${p.latency?.stretch.max.toFixed(2)}` : `${label}: leaves nodes with no path`);
  }
  assert.ok(plain && peers(plain) > 6, "the plain greedy spanner needs more peers than allowed");
  assert.equal(peers(auto), 6);
  assert.ok(within(auto) > within(capped), `auto ${within(auto)} vs capped greedy ${within(capped)}`);
});

test("with too few peers to connect everyone, the mesh is still connected: a node goes over maxPeers rather than a pair unreachable", () => {
  const plan = planMesh(everyPublicNodeRoutes(60, { topology: "auto", seed: 1, natShare: 0, maxPeers: 2 }));
  assert.equal(simulatePlanSummary(plan).reachable, 60 * 59);
  const over = plan.nodes.filter((n) => n.peers.length > 2);
  // With two peers each the spanner closes rings that leave no free end: joining them takes a third peer on a few nodes.
  assert.ok(over.length > 0 && over.length < 60 / 4, `${over.length} nodes over maxPeers`);
  assert.ok(over.every((n) => n.peers.length === 3), "one over, never more");
});

test("explicit links count towards maxPeers", () => {
  const spec = world(40, { topology: "auto", seed: 3, natShare: 0 });
  const hub = spec.nodes.find((n) => n.name === spec.hub);
  const others = spec.nodes.filter((n) => n !== hub && mayCarryTransit(n, spec)).slice(0, 3);
  if (hub) hub.links = others.map((o) => ({ peer: o.name }));
  const plan = planMesh({ ...spec, maxPeers: 5 });
  assert.ok((plan.nodes.find((n) => n.name === spec.hub)?.peers.length ?? 99) <= 5);
});

test("preshared keys under auto: exactly the planned local links, or every local pair when other stacks' nodes join the choice", () => {
  const spec = seedSpec({ topology: "auto", presharedKeys: true });
  const plan = planMesh(spec);
  assert.deepEqual(possibleLocalLinks(spec), plan.links.map((l) => l.id).sort());
  const shared = possibleLocalLinks({ ...spec, peerStacks: ["acme/wg-mesh/apac"] });
  assert.equal(shared.length, (12 * 11) / 2);
});
