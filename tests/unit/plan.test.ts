import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { containsIp, parseIPv4, parsePrefix, type Prefix } from "../../infra/cidr";
import { MeshConfigError, type MeshPlan } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { seedSpec } from "../support/seed-spec";
import { randomMeshSpec, withoutTransitThroughSpokes } from "../support/random-mesh";
import { walk } from "../support/plan-walk";

function peersOf(plan: MeshPlan, node: string) {
  return (plan.nodes.find((n) => n.name === node) ?? assert.fail(`no ${node}`)).peers;
}

function checkInvariants(plan: MeshPlan): void {
  const names = plan.nodes.map((n) => n.name);
  const interior = new Set<string>();
  for (const a of names) {
    for (const b of names) {
      if (a === b) continue;
      const there = walk(plan, a, b);
      assert.ok(there.ok, `${a} -> ${b}: ${there.why} (path ${there.path.join(" -> ")})`);
      assert.deepEqual(there.path, plan.routes.pathOf(a, b), `${a} -> ${b} walks the planned path`);
      assert.deepEqual([...there.path].reverse(), plan.routes.pathOf(b, a), `${b} -> ${a} is the reverse of ${a} -> ${b}`);
      there.path.slice(1, -1).forEach((n) => interior.add(n));
    }
  }
  for (const node of plan.nodes) {
    assert.equal(node.forwarding, interior.has(node.name), `${node.name} forwards exactly when it is transit`);
    // Only public nodes carry others' traffic; backends only where auto chose them (infra/plan/transit.ts).
    if (interior.has(node.name)) assert.ok(node.hasPublicEndpoint && (node.role !== "backend" || plan.spec.topology === "auto"), `${node.name} (${node.role}) carries others' traffic`);
    const seen = new Map<string, string>();
    for (const peer of node.peers) {
      for (const prefix of peer.allowedIps) {
        assert.notEqual(prefix, "0.0.0.0/0", `${node.name} routes everything to ${peer.name}`);
        const other = seen.get(prefix);
        assert.equal(other, undefined, `${node.name}: ${prefix} on both ${other} and ${peer.name}`);
        seen.set(prefix, peer.name);
      }
      const peerIp = parseIPv4(plan.nodes.find((n) => n.name === peer.name)?.address ?? "") as number;
      assert.ok(
        peer.allowedIps.some((a) => containsIp(parsePrefix(a) as Prefix, peerIp)),
        `${node.name}: AllowedIPs of ${peer.name} contain its address`,
      );
      assert.ok(peersOf(plan, peer.name).some((p) => p.name === node.name), `${peer.name} lists ${node.name} back`);
      const peerSpec = plan.nodes.find((n) => n.name === peer.name);
      if (!node.hasPublicEndpoint) assert.ok(peerSpec?.hasPublicEndpoint, `${node.name} -- ${peer.name}: someone can dial`);
    }
  }
  assert.ok(plan.mtu >= 1280, `MTU ${plan.mtu} >= 1280`);
  const smallest = Math.min(...plan.links.flatMap((l) => [l.a, l.b]).map((n) => plan.nodes.find((x) => x.name === n)?.underlayMtu ?? 1500));
  assert.ok(plan.mtu <= smallest - 80, `MTU ${plan.mtu} fits the smallest underlay ${smallest}`);
}

test("prod (the seed's mesh, regional): HKG direct to NRT, SIN, SYD and via the hub to GRU", () => {
  const plan = planMesh(seedSpec());
  checkInvariants(plan);
  assert.deepEqual(plan.routes.pathOf("hkg", "nrt"), ["hkg", "nrt"]);
  assert.deepEqual(plan.routes.pathOf("hkg", "sin"), ["hkg", "sin"]);
  assert.deepEqual(plan.routes.pathOf("hkg", "syd"), ["hkg", "syd"]);
  assert.deepEqual(plan.routes.pathOf("hkg", "gru"), ["hkg", "ireland", "gru"]);
  // Inside APAC the POP, not Ireland, carries backend-to-backend traffic.
  assert.deepEqual(plan.routes.pathOf("nrt", "sin"), ["nrt", "hkg", "sin"]);
  assert.deepEqual(
    plan.nodes.filter((n) => n.forwarding).map((n) => n.name),
    ["ireland", "hkg"],
  );
  assert.equal(plan.links.length, 11 + 3);
});

test("prod AllowedIPs: default via the hub, specific prefixes for direct peers, regions kept whole", () => {
  const plan = planMesh(seedSpec());
  const hkg = Object.fromEntries(peersOf(plan, "hkg").map((p) => [p.name, p.allowedIps]));
  assert.deepEqual(hkg, {
    ireland: ["10.50.0.0/16"],
    nrt: ["10.50.4.1/32"],
    sin: ["10.50.4.2/32"],
    syd: ["10.50.4.3/32"],
  });
  const nrt = Object.fromEntries(peersOf(plan, "nrt").map((p) => [p.name, p.allowedIps]));
  assert.deepEqual(nrt, { ireland: ["10.50.0.0/16"], hkg: ["10.50.4.0/24", "10.50.5.0/24"] });
  const hub = Object.fromEntries(peersOf(plan, "ireland").map((p) => [p.name, p.allowedIps]));
  assert.deepEqual(hub.hkg, ["10.50.5.0/24"], "a region with one node goes whole to it");
  assert.deepEqual(hub.iad, ["10.50.2.1/32"], "a region split over peers is listed by address");
  assert.deepEqual(peersOf(plan, "gru").map((p) => p.allowedIps), [["10.50.0.0/16"]]);
});

test("MTU is derived from the smallest underlay: a GCP node (1460) gives 1380", () => {
  assert.equal(planMesh(seedSpec()).mtu, 1380);
  const allAws = seedSpec();
  allAws.nodes = allAws.nodes.map((n) => ({ ...n, cloud: "aws" as const, aws: { region: "eu-west-1" }, gcp: undefined, azure: undefined }));
  assert.equal(planMesh(allAws).mtu, 1420);
});

test("an explicit MTU above what the links carry is refused, naming the limit", () => {
  const err = (() => {
    try {
      planMesh(seedSpec({ mtu: 1420 }));
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof MeshConfigError);
  assert.equal(err.issues[0]?.path, "mtu");
  assert.match(err.issues[0]?.message ?? "", /1420 exceeds what the links carry: at most 1380/);
});

test("underlay MTU too small for 1280 is refused", () => {
  const spec = seedSpec();
  spec.nodes[1] = { ...(spec.nodes[1] as (typeof spec.nodes)[0]), underlayMtu: 1300 };
  assert.throws(() => planMesh(spec), (e: unknown) => e instanceof MeshConfigError && /carry only 1220 bytes/.test(e.message));
});

test("the three topology modes hold every invariant on the seed", () => {
  for (const topology of ["hub", "regional", "full"] as const) checkInvariants(planMesh(seedSpec({ topology })));
  const hub = planMesh(seedSpec({ topology: "hub" }));
  assert.deepEqual(hub.nodes.filter((n) => n.forwarding).map((n) => n.name), ["ireland"]);
  const full = planMesh(seedSpec({ topology: "full" }));
  // Weights are the measured round trips, and a detour through a backend would beat two direct links
  // (iad -> ord -> lax, lhr -> cdg -> nrt); but backends carry no one's traffic, so every link stays.
  assert.equal(full.links.length, 66);
  assert.deepEqual(full.skippedLinks, []);
  assert.deepEqual(full.nodes.filter((n) => n.forwarding).map((n) => n.name), []);
});

test("without a latency model (sites it cannot place) a full mesh is every link, and nobody forwards", () => {
  const spec = seedSpec({ topology: "full" });
  spec.nodes = spec.nodes.map((n) => ({ ...n, site: `x-${n.name}` }));
  const full = planMesh(spec);
  assert.equal(full.links.length, 66);
  assert.ok(full.nodes.every((n) => !n.forwarding), "nobody forwards in a full mesh");
  assert.equal(full.latency, undefined);
});

test("a NATed backend is dialled, never dials another NATed node, and routes through a public one", () => {
  const spec = seedSpec({ topology: "full" });
  for (const name of ["gru", "iad"]) {
    const i = spec.nodes.findIndex((n) => n.name === name);
    const n = spec.nodes[i] as (typeof spec.nodes)[0];
    spec.nodes[i] = { name: n.name, role: n.role, region: n.region, site: n.site, address: n.address, cloud: "external", external: {}, links: [] };
  }
  const plan = planMesh(spec);
  checkInvariants(plan);
  assert.ok(plan.skippedLinks.some((s) => s.a === "gru" && s.b === "iad"));
  assert.equal(plan.routes.pathOf("gru", "iad")?.length, 3);
  assert.equal(peersOf(plan, "ireland").find((p) => p.name === "gru")?.dialsPeer, false);
});

test("a link that is never the shortest way between its ends is dropped and reported", () => {
  const spec = seedSpec({ topology: "hub" });
  const lhr = spec.nodes.find((n) => n.name === "lhr");
  lhr?.links.push({ peer: "nrt", weight: 500 }); // via the hub: lhr-ireland plus ireland-nrt, about 245 ms measured
  const plan = planMesh(spec);
  assert.ok(!plan.links.some((l) => l.id === "lhr--nrt"));
  assert.match(plan.skippedLinks.find((s) => s.a === "lhr" && s.b === "nrt")?.reason ?? "", /never on a shortest path/);
  lhr!.links[0] = { peer: "nrt", weight: 225 };
  // Cheaper than the way round for lhr and nrt, not so cheap that lhr (a backend) would carry ireland's traffic to nrt (232 ms direct).
  assert.deepEqual(planMesh(spec).routes.pathOf("lhr", "nrt"), ["lhr", "nrt"]);
});

test("two NATed nodes linked explicitly is a config error on that link", () => {
  const spec = seedSpec();
  for (const name of ["gru", "iad"]) {
    const n = spec.nodes.find((x) => x.name === name) as (typeof spec.nodes)[0];
    n.cloud = "external";
    delete n.aws;
    n.external = {};
  }
  spec.nodes.find((n) => n.name === "gru")?.links.push({ peer: "iad" });
  assert.throws(() => planMesh(spec), (e: unknown) => e instanceof MeshConfigError && e.issues[0]?.path === "nodes.gru.links[0]");
});

test("the plan is deterministic: node order in the config does not change routes", () => {
  const a = planMesh(seedSpec({ topology: "full" }));
  const reversed = seedSpec({ topology: "full" });
  reversed.nodes = [...reversed.nodes].reverse();
  const b = planMesh(reversed);
  for (const n of a.nodes) {
    const m = b.nodes.find((x) => x.name === n.name);
    assert.deepEqual(
      Object.fromEntries(n.peers.map((p) => [p.name, p.allowedIps])),
      Object.fromEntries((m?.peers ?? []).map((p) => [p.name, p.allowedIps])),
    );
  }
});

test("property: generated meshes of every mode keep every invariant", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
      checkInvariants(planMesh(randomMeshSpec(seed, { maxNodes: 14 })));
    }),
    { numRuns: 300 },
  );
});

test("property: equal-cost ties still give one symmetric path per pair (uniform weights)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
      const spec = randomMeshSpec(seed, { minNodes: 4, maxNodes: 12, topologies: ["hub"] });
      // Many equal-weight extra links create many equal-cost paths.
      spec.nodes.forEach((n, i) => {
        const m = spec.nodes[(i + 2) % spec.nodes.length];
        const natted = (x: typeof n) => x.cloud === "external" && !x.external?.endpoint;
        if (m && m !== n && !(natted(n) && natted(m)) && !m.links.some((l) => l.peer === n.name) && !n.links.some((l) => l.peer === m.name)) {
          n.links.push({ peer: m.name, weight: 100 });
        }
      });
      checkInvariants(planMesh(withoutTransitThroughSpokes(spec)));
    }),
    { numRuns: 200 },
  );
});

test("property: auto on generated meshes keeps every invariant (sites drawn from the shipped metros)", () => {
  const metros = ["dub", "lhr", "fra", "cdg", "ams", "iad", "ord", "lax", "gru", "nrt", "sin", "syd", "hkg", "bom"];
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 2, max: 16 }), (seed, maxPeers) => {
      const spec = randomMeshSpec(seed, { maxNodes: 14 });
      spec.topology = "auto";
      spec.maxPeers = maxPeers;
      // auto chooses the links: the generator's explicit ones (weights on its own scale, not round
      // trips) would only be refused where they make a node behind NAT the cheapest way.
      spec.nodes.forEach((n, i) => {
        n.site = metros[(seed + i * 7) % metros.length] as string;
        n.links = [];
      });
      checkInvariants(planMesh(spec));
    }),
    { numRuns: 200 },
  );
});
