/**
 * Other stacks' nodes joined to this one (infra/imports.ts), the `mesh` output they come from
 * (infra/mesh-export.ts), and the pure helpers the stack program wires with: firewall sources,
 * preshared-key candidates, the Azure underlay range and GCP service account names.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "../../infra/keys";
import { ANYWHERE, sourceLimit, wireguardSources } from "../../infra/firewall";
import { crossStackDrift, mergePeerMeshes, type PeerMesh } from "../../infra/imports";
import { possibleLocalLinks } from "../../infra/local-links";
import { buildMeshExport, type MeshExport } from "../../infra/mesh-export";
import { MeshConfigError, type MeshSpec, type TopologyMode } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { underlayCidr } from "../../infra/underlay";
import { gcpServiceAccountId } from "../../infra/vault";
import { seedSpec } from "../support/seed-spec";

const APAC = new Set(["hkg", "nrt", "sin", "syd"]);

function part(spec: MeshSpec, apac: boolean): MeshSpec {
  const regions = spec.regions.filter((r) => r.name.startsWith("apac") === apac);
  return { ...spec, regions, nodes: spec.nodes.filter((n) => APAC.has(n.name) === apac) };
}

/** What a stack holding `spec`'s nodes would publish, with real keys and made-up public IPs. */
function exported(spec: MeshSpec, fullSpec = spec): MeshExport {
  const keys = Object.fromEntries(spec.nodes.map((n) => [n.name, generateKeyPair().publicKey]));
  const ips = Object.fromEntries(spec.nodes.map((n, i) => [n.name, `198.51.100.${i + 1}`]));
  return buildMeshExport(spec, planMesh(fullSpec), keys, ips);
}

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof MeshConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  assert.fail("expected a MeshConfigError");
}

const peer = (mesh: unknown, index = 0, stack = "acme/wg-mesh/apac"): PeerMesh => ({ index, stack, mesh });

test("a mesh split across two stacks plans, on each side, exactly the links and AllowedIPs of the whole mesh", () => {
  for (const topology of ["hub", "regional", "full"] as TopologyMode[]) {
    const whole = planMesh(seedSpec({ topology }));
    const eu = part(seedSpec({ topology }), false);
    const apac = part(seedSpec({ topology }), true);
    for (const [local, remote] of [
      [eu, apac],
      [apac, eu],
    ] as const) {
      const { spec } = mergePeerMeshes(local, [peer(exported(remote, seedSpec({ topology })))]);
      const plan = planMesh(spec);
      assert.deepEqual(plan.links.map((l) => l.id), whole.links.map((l) => l.id), topology);
      for (const n of local.nodes) {
        const mine = plan.nodes.find((x) => x.name === n.name);
        const theirs = whole.nodes.find((x) => x.name === n.name);
        assert.deepEqual(mine?.peers, theirs?.peers, `${topology}: ${n.name}`);
        assert.equal(mine?.forwarding, theirs?.forwarding);
      }
      assert.equal(plan.mtu, whole.mtu, "imported underlay MTUs keep the tunnel MTU the same on both sides");
    }
  }
});

test("imported nodes become external nodes carrying their key, endpoint and stack", () => {
  const apac = exported(part(seedSpec(), true), seedSpec());
  const { spec, imported } = mergePeerMeshes(part(seedSpec(), false), [peer(apac)]);
  const hkg = spec.nodes.find((n) => n.name === "hkg");
  assert.deepEqual(hkg, {
    name: "hkg",
    role: "pop",
    region: "apac-pop",
    site: "hkg",
    address: "10.50.5.1",
    cloud: "external",
    external: { publicKey: apac.nodes[0]?.publicKey, stack: "acme/wg-mesh/apac", endpoint: "198.51.100.1" },
    underlayMtu: 1460,
    transit: true,
    links: [],
  });
  // Whether a node carries transit is its own stack's decision: a backend the other stack lets forward, forwards here too.
  const letting = exported({ ...part(seedSpec(), true), nodes: part(seedSpec(), true).nodes.map((n) => (n.name === "nrt" ? { ...n, transit: true } : n)) }, seedSpec());
  assert.equal(letting.nodes.find((n) => n.name === "nrt")?.transit, true);
  assert.equal(mergePeerMeshes(part(seedSpec(), false), [peer(letting)]).spec.nodes.find((n) => n.name === "nrt")?.transit, true);
  const older = structuredClone(apac);
  for (const n of older.nodes) delete n.transit;
  assert.equal(mergePeerMeshes(part(seedSpec(), false), [peer(older)]).spec.nodes.find((n) => n.name === "nrt")?.transit, undefined, "an older output: the role decides");
  assert.deepEqual(spec.regions.map((r) => r.name).slice(-2), ["apac", "apac-pop"]);
  assert.equal(imported.length, 1);
});

test("clashes are reported by peer stack and by the path of what they clash with", () => {
  const local = part(seedSpec(), false);
  const apac = exported(part(seedSpec(), true), seedSpec());
  const clash = structuredClone(apac);
  (clash.nodes[1] as { address: string }).address = "10.50.3.1"; // lhr's, here
  (clash.nodes[2] as { name: string }).name = "gru";
  clash.regions.push({ name: "europe", subnet: "10.50.3.0/25", area: "europe" });
  clash.regions.push({ name: "dmz", subnet: "10.50.0.128/25", area: "europe" });
  clash.listenPort = 51821;
  assert.deepEqual(issuesOf(() => mergePeerMeshes(local, [peer(clash)])), [
    "peerStacks[0] (acme/wg-mesh/apac): its listenPort is 51821, here it is 51820; a mesh listens on one port: set listenPort the same in every stack",
    "peerStacks[0] (acme/wg-mesh/apac): region europe is 10.50.3.0/25 (area europe) there but 10.50.3.0/24 (area europe) at regions.europe here; a region means one subnet everywhere",
    "peerStacks[0] (acme/wg-mesh/apac): region dmz's subnet 10.50.0.128/25 overlaps region central (10.50.0.0/24) at regions.central here; give the regions disjoint subnets",
    "peerStacks[0] (acme/wg-mesh/apac): node nrt's address 10.50.3.1 is also nodes.lhr.address here",
    "peerStacks[0] (acme/wg-mesh/apac): node nrt's address 10.50.3.1 is outside its region apac (10.50.4.0/24)",
    "peerStacks[0] (acme/wg-mesh/apac): node gru is also nodes.gru here; node names are unique across the stacks of a mesh",
  ]);
});

test("two peer stacks that clash with each other name each other", () => {
  const local = part(seedSpec(), false);
  const apac = exported(part(seedSpec(), true), seedSpec());
  const again = structuredClone(apac);
  for (const n of again.nodes) n.name = `${n.name}2`;
  assert.deepEqual(issuesOf(() => mergePeerMeshes(local, [peer(apac), peer(again, 1, "acme/wg-mesh/apac2")])).slice(0, 2), [
    "peerStacks[1] (acme/wg-mesh/apac2): node hkg2's address 10.50.5.1 is also node hkg's address in peerStacks[0] (acme/wg-mesh/apac)",
    "peerStacks[1] (acme/wg-mesh/apac2): node hkg2's public key is also node hkg's key in peerStacks[0] (acme/wg-mesh/apac); every node needs its own key",
  ]);
});

test("a mesh output that is not one, a disagreeing hub or topology, and a hub nowhere to be found", () => {
  const local = part(seedSpec(), true);
  assert.deepEqual(issuesOf(() => mergePeerMeshes(local, [peer({ nodes: "x" })])).slice(0, 2), [
    "peerStacks[0] (acme/wg-mesh/apac): its mesh output is not one wg-mesh wrote: overlay: must be text here; run pulumi up in acme/wg-mesh/apac with a current wg-mesh",
    "peerStacks[0] (acme/wg-mesh/apac): its mesh output is not one wg-mesh wrote: listenPort: must be a number here; run pulumi up in acme/wg-mesh/apac with a current wg-mesh",
  ]);
  const eu = exported(part(seedSpec(), false), seedSpec());
  assert.ok(issuesOf(() => mergePeerMeshes(local, [peer({ ...eu, topology: "full" })])).some((i) => i.includes("it plans topology full with hub ireland, here topology regional with hub ireland")));
  assert.deepEqual(issuesOf(() => mergePeerMeshes(local, [])), [
    "hub: ireland is neither a node here nor in the mesh output of a peer stack; deploy the stack that holds the hub first",
  ]);
});

test("cross-stack drift: silent when both sides plan the same links, specific when they do not", () => {
  const spec = seedSpec();
  const whole = planMesh(spec);
  const eu = new Set(spec.nodes.filter((n) => !APAC.has(n.name)).map((n) => n.name));
  const apac = exported(part(spec, true), spec);
  const imported = [{ index: 0, stack: "acme/wg-mesh/apac", mesh: apac }];
  assert.deepEqual(crossStackDrift(whole, eu, imported), []);

  const bootstrapping = [{ index: 0, stack: "acme/wg-mesh/apac", mesh: exported(part(spec, true), { ...part(spec, true), hub: "hkg" }) }];
  assert.match(crossStackDrift(whole, eu, bootstrapping)[0] ?? "", /^peerStacks\[0\] \(acme\/wg-mesh\/apac\): plans no links to this stack's nodes yet, so the 4 links planned here stay down/);

  const missing = structuredClone(apac);
  missing.links = missing.links.filter((l) => l !== "ireland--nrt");
  assert.deepEqual(crossStackDrift(whole, eu, [{ index: 0, stack: "acme/wg-mesh/apac", mesh: missing }]), [
    "peerStacks[0] (acme/wg-mesh/apac): link ireland--nrt is planned here but not there; update acme/wg-mesh/apac or check that both stacks declare the same mesh settings",
  ]);
});

test("preshared-key candidates cover every planned local link, whatever the topology and wherever the hub is", () => {
  for (const topology of ["hub", "regional", "full"] as TopologyMode[]) {
    const spec = seedSpec({ topology });
    const candidates = new Set(possibleLocalLinks(spec));
    for (const l of planMesh(spec).links) assert.ok(candidates.has(l.id), `${topology}: ${l.id}`);
    const apacOnly = part(spec, true);
    const links = possibleLocalLinks(apacOnly);
    assert.ok(links.every((id) => id.split("--").every((n) => APAC.has(n))), "no link to the remote hub");
    if (topology !== "hub") assert.ok(links.includes("hkg--nrt"), topology);
  }
});

test("WireGuard sources: peers' /32s; the world when a peer is behind NAT, known by name, or too many", () => {
  const spec = seedSpec();
  const plan = planMesh(spec);
  const ips = Object.fromEntries(spec.nodes.map((n, i) => [n.name, `198.51.100.${i + 1}`]));
  assert.deepEqual(wireguardSources(plan, "nrt", ips), { cidrs: ["198.51.100.1/32", "198.51.100.2/32"] });
  assert.deepEqual(wireguardSources(plan, "nrt", { ...ips, hkg: "pop.example.com" }), { cidrs: [ANYWHERE], openBecause: "hkg's endpoint pop.example.com is a name, not a fixed address" });
  assert.equal(wireguardSources(plan, "ireland", ips, 5).cidrs[0], ANYWHERE);
  assert.equal(wireguardSources(plan, "ireland", ips).cidrs.length, 11);

  const natted = seedSpec({ nodes: [...spec.nodes, { name: "home", role: "backend", region: "europe", site: "home", address: "10.50.3.9", cloud: "external", links: [] }] });
  assert.deepEqual(wireguardSources(planMesh(natted), "ireland", ips), { cidrs: [ANYWHERE], openBecause: "home dials in from behind NAT" });
  assert.equal(sourceLimit("aws", ["1.2.3.0/24", "5.6.7.0/24"]), 53);
});

test("Azure's own VNet range and GCP service account names", () => {
  assert.equal(underlayCidr({ overlay: "10.50.0.0/16", regions: [] }), "192.168.255.0/24");
  assert.equal(underlayCidr({ overlay: "192.168.0.0/16", regions: [{ name: "x", subnet: "172.31.255.0/24", area: "a" }] }), "10.255.255.0/24");
  assert.throws(() => underlayCidr({ overlay: "0.0.0.0/0", regions: [] }), /give azure nodes a subnetId/);

  for (const node of ["hkg", "a-very-long-node-name-12", "x"]) {
    const id = gcpServiceAccountId({ project: "wg-mesh", stack: "prod", node });
    assert.match(id, /^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$/, id);
    assert.notEqual(id, gcpServiceAccountId({ project: "wg-mesh", stack: "staging", node }), "one per stack");
  }
});

test("a link to a node of a peer stack is allowed in config and checked once the peers are read", () => {
  const apac = part(seedSpec(), true);
  const eu = part(seedSpec(), false);
  // Cheaper than the way round for nrt itself, too dear to make nrt or lhr (backends) the cheapest way between two others (ireland to nrt is 232 ms direct).
  const withLink = { ...apac, nodes: apac.nodes.map((n) => (n.name === "nrt" ? { ...n, links: [{ peer: "lhr", weight: 230 }] } : n)) };
  const { spec } = mergePeerMeshes(withLink, [peer(exported(eu, seedSpec()))]);
  assert.ok(planMesh(spec).links.some((l) => l.id === "lhr--nrt"));
  const dangling = { ...apac, nodes: apac.nodes.map((n) => (n.name === "nrt" ? { ...n, links: [{ peer: "osl" }] } : n)) };
  assert.deepEqual(issuesOf(() => mergePeerMeshes(dangling, [peer(exported(eu, seedSpec()))])), [
    "nodes.nrt.links[0]: unknown node osl: neither a node here nor in the mesh output of a peer stack",
  ]);
});

test("planning a stack whose hub lives in a peer stack, without reading the peers, says so", () => {
  const apac = { ...part(seedSpec(), true), peerStacks: ["acme/wg-mesh/eu"] };
  assert.deepEqual(issuesOf(() => planMesh(apac)), ["hub: ireland is not a node of this mesh; it is expected from peerStacks, which only the stack program reads (pulumi preview)"]);
});
