/**
 * Resilience in the engine: the layout `resilience: node` plans, the failover tables it ships, and
 * the single-failure walk on the rendered files, held to the simulator proper on files rewritten as
 * each failure leaves them.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { loadStackConfig } from "../../infra/config";
import { parseFailover, renderFailover, type FailoverTable } from "../../infra/failover/format";
import { MeshConfigError, type MeshPlan, type MeshSpec, type WgQuickConfig } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { offlineEndpoints, placeholderKeys, renderAll, renderAllFailover, throwAwayKeys } from "../../infra/render/mesh";
import { simulate } from "../../infra/simulate";
import { simulateFailures, type Failure, type FailureOutcome } from "../../infra/simulate/failures";
import { simulatePlanFailures } from "../../infra/simulate/plan";
import { resilienceLine } from "../../infra/simulate/resilience";
import { parseWgQuick } from "../../infra/wgquick";
import { randomMeshSpec, resilientPlans } from "../support/random-mesh";
import { seedSpec } from "../support/seed-spec";

interface Files {
  configs: Map<string, WgQuickConfig>;
  failover: Map<string, FailoverTable>;
  publicKeys: Record<string, string>;
}

function files(plan: MeshPlan): Files {
  const keys = throwAwayKeys(plan);
  const texts = renderAll(plan, keys, offlineEndpoints(plan));
  return {
    configs: new Map(Object.entries(texts).map(([n, t]) => [n, parseWgQuick(t, `${n}/wg0.conf`)])),
    failover: new Map(Object.entries(renderAllFailover(plan, keys)).map(([n, t]) => [n, parseFailover(t, `${n}/failover.conf`)])),
    publicKeys: keys.publicKeys,
  };
}

/**
 * The files as a failure leaves them, for the simulator proper: the dead node gone, a cut link's
 * Endpoints gone on both sides (no handshake), and every node that hears of it with the AllowedIPs
 * of its failover entry, as `wg set` leaves them.
 */
function filesUnder(f: Files, failure: Failure): Map<string, WgQuickConfig> {
  const out = new Map<string, WgQuickConfig>();
  const keyOf = (name: string) => f.publicKeys[name] as string;
  const nameOf = new Map(Object.entries(f.publicKeys).map(([n, k]) => [k, n]));
  for (const [name, cfg] of f.configs) {
    if (failure.kind === "node" && name === failure.node) continue;
    const copy: WgQuickConfig = structuredClone(cfg);
    const lost = failure.kind === "node" ? failure.node : name === failure.a ? failure.b : name === failure.b ? failure.a : undefined;
    const entry = lost ? f.failover.get(name)?.entries.find((e) => e.lost === keyOf(lost)) : undefined;
    for (const peer of copy.peers) {
      const moved = entry?.peers.find((p) => p.publicKey === peer.publicKey);
      if (moved) peer.allowedIps = [...moved.allowedIps];
      if (failure.kind === "link" && lost && nameOf.get(peer.publicKey) === lost) delete peer.endpoint;
    }
    out.set(name, copy);
  }
  return out;
}

/** Each failure's outcome held to simulate() on the files it leaves: the same pairs reach, along the same paths. */
function assertAgreesWithSimulator(plan: MeshPlan, label: string): FailureOutcome[] {
  const f = files(plan);
  const outcomes = simulateFailures(f.configs, f.failover);
  // Every node and every link is failed once: a walk that skipped some would prove nothing of them.
  assert.equal(outcomes.length, plan.nodes.length + plan.links.length, `${label}: one outcome per node and per link`);
  for (const o of outcomes) {
    const r = simulate(filesUnder(f, o.failure));
    const lost = new Set(o.lostPairs.map((p) => `${p.from}>${p.to}`));
    const rerouted = new Map(o.reroutedPairs.map((p) => [`${p.from}>${p.to}`, p.path]));
    const what = `${label}: ${o.failure.kind === "node" ? `${o.failure.node} down` : `${o.failure.a}--${o.failure.b} cut`}`;
    assert.equal(o.pairs, r.total, what);
    assert.equal(o.lost, r.total - r.reachable, what);
    for (const p of r.pairs) {
      const key = `${p.from}>${p.to}`;
      assert.equal(!lost.has(key), p.reachable, `${what}: ${key} ${p.failure?.reason ?? ""}`);
      if (p.reachable) assert.deepEqual(rerouted.get(key) ?? plan.routes.pathOf(p.from, p.to), p.path, `${what}: ${key}`);
    }
  }
  return outcomes;
}

function stackSpec(stack: string, edit: (text: string) => string = (t) => t): MeshSpec {
  return loadStackConfig(edit(readFileSync(`Pulumi.${stack}.yaml`, "utf8")), `Pulumi.${stack}.yaml`);
}

const resilient = (text: string): string => {
  const edited = text.replace(/^( {4}topology: .*)$/m, "$1\n    resilience: node");
  assert.notEqual(edited, text, "the stack file has a topology line to ask for resilience under");
  return edited;
};

test("a stack that does not ask for resilience renders byte for byte what it did before (prod, staging)", () => {
  const digest = (stack: string, edit?: (t: string) => string): string => {
    const plan = planMesh(stackSpec(stack, edit));
    const texts = renderAll(plan, placeholderKeys(plan), offlineEndpoints(plan));
    const h = createHash("sha256");
    for (const name of Object.keys(texts).sort()) h.update(`${name}\n${texts[name]}\n`);
    return h.digest("hex");
  };
  // Recorded from the renderer before resilience existed.
  assert.equal(digest("prod"), "2683f158a861a6947ea5658c01faeae2ef44e961023612637823ad7a991a1894");
  assert.equal(digest("staging"), "21198495c99af8631130eea5ea230571592c9b06ce98dd85f61e3ae0a1904d23");
  assert.equal(digest("prod", (t) => t.replace(/^( {4}topology: .*)$/m, "$1\n    resilience: none")), digest("prod"));
  assert.equal(renderAllFailover(planMesh(stackSpec("prod")), placeholderKeys(planMesh(stackSpec("prod")))).ireland, undefined);
});

test("today's prod: ireland down loses 98 of the 110 surviving pairs and hkg 6, no other node any; every link cuts some", () => {
  const r = simulatePlanFailures(planMesh(stackSpec("prod")));
  assert.equal(r.mode, "none");
  assert.deepEqual(
    r.failures.filter((f) => f.failure.kind === "node" && f.lost > 0).map((f) => [f.label, f.lost, f.pairs]),
    [
      ["hkg down", 6, 110],
      ["ireland down", 98, 110],
    ],
  );
  assert.equal(r.links.survived, 0);
  assert.match(resilienceLine(r), /^single failures: 10 of 26 survived \(nodes 10 of 12, links 0 of 14\); worst: ireland down, 98 of 110 pairs lost/);
});

test("resilient prod: two homes per backend, backups idle, a keepalive a second, and every single node failure survived", () => {
  const plan = planMesh(stackSpec("prod", resilient));
  assert.deepEqual(plan.resilience?.core, ["hkg", "ireland"]);
  for (const [node, home] of Object.entries(plan.resilience?.homes ?? {})) {
    assert.notEqual(home.primary, home.backup, node);
    const backup = plan.links.find((l) => l.backup && [l.a, l.b].includes(node));
    assert.deepEqual([backup?.a, backup?.b].sort(), [node, home.backup].sort(), `${node}'s backup link`);
    for (const end of [node, home.backup]) {
      const other = end === node ? home.backup : node;
      assert.deepEqual(plan.nodes.find((n) => n.name === end)?.peers.find((p) => p.name === other)?.allowedIps, [], `${end} carries nothing to ${other} until a failover`);
    }
  }
  const f = files(plan);
  for (const [name, cfg] of f.configs) for (const p of cfg.peers) assert.equal(p.persistentKeepalive, 1, `${name}'s peers keep alive each second`);
  const normal = simulate(f.configs);
  assert.equal(normal.reachable, normal.total);
  const outcomes = assertAgreesWithSimulator(plan, "resilient prod");
  for (const o of outcomes.filter((x) => x.failure.kind === "node")) assert.equal(o.lost, 0, `${JSON.stringify(o.failure)}: ${JSON.stringify(o.lostPairs.slice(0, 5))}`);
  const ireland = outcomes.find((o) => o.failure.kind === "node" && o.failure.node === "ireland") as FailureOutcome;
  assert.equal(ireland.rerouted, 98, "every pair that crossed the hub now crosses hkg");
  assert.deepEqual(ireland.switched, ["cdg", "fra", "gru", "hkg", "iad", "lax", "lhr", "ord"], "only the hub's neighbours with something to move switch");
});

test("today's prod, failure by failure, as the simulator proper sees the files each failure leaves", () => {
  assertAgreesWithSimulator(planMesh(stackSpec("prod")), "prod");
  assertAgreesWithSimulator(planMesh(stackSpec("prod", (t) => t.replace(/topology: regional/, "topology: auto"))), "prod auto");
});

test("random resilient meshes: every single node failure survived, and the walk agrees with the simulator on every failure", () => {
  let planned = 0;
  for (const { seed, plan } of resilientPlans({ minNodes: 4, maxNodes: 12, topologies: ["hub", "regional", "full"] }, 400)) {
    if (planned === 25) break;
    planned++;
    const outcomes = assertAgreesWithSimulator(plan, `seed ${seed}`);
    for (const o of outcomes.filter((x) => x.failure.kind === "node")) assert.equal(o.lost, 0, `seed ${seed} ${JSON.stringify(o.failure)}: ${JSON.stringify(o.lostPairs.slice(0, 5))}`);
  }
  assert.ok(planned >= 25, `only ${planned} random meshes planned`);
});

test("random meshes without resilience: the counted losses equal the walked ones on every failure", () => {
  for (let seed = 1; seed <= 30; seed++) {
    const plan = planMesh(randomMeshSpec(seed));
    assertAgreesWithSimulator(plan, `seed ${seed}`);
  }
});

test("resilience the nodes cannot give is refused in one line naming the fix", () => {
  const oneRouter = seedSpec({ resilience: "node" });
  oneRouter.nodes = oneRouter.nodes.map((n) => (n.role === "pop" ? { ...n, role: "backend" } : n));
  assert.throws(
    () => planMesh(oneRouter),
    (err: unknown) =>
      err instanceof MeshConfigError &&
      err.issues.length === 1 &&
      err.issues[0]?.path === "resilience" &&
      /only ireland may; declare a POP or a second hub/.test(err.issues[0].message),
  );
  const tight = seedSpec({ resilience: "node", topology: "auto", maxPeers: 6 });
  assert.throws(
    () => planMesh(tight),
    (err: unknown) => err instanceof MeshConfigError && err.issues.some((i) => i.path === "maxPeers" && /raise maxPeers to \d+ or let more nodes carry transit/.test(i.message)),
  );
});

test("several hubs are refused without resilience and accepted with it", () => {
  const text = (extra: string) =>
    readFileSync("Pulumi.prod.yaml", "utf8")
      .replace(/(\n {6}hkg:\n {8}role:) pop/, "$1 hub")
      .replace(/^( {4}topology: .*)$/m, `$1${extra}`);
  assert.throws(() => loadStackConfig(text(""), "x"), /nodes\.hkg\.role: the mesh has one hub, ireland; .* or set resilience: node/);
  const spec = loadStackConfig(text("\n    resilience: node"), "x");
  const r = simulatePlanFailures(planMesh(spec));
  assert.equal(r.nodes.survived, r.nodes.total);
});

test("failover.conf reads back what was written", () => {
  const plan = planMesh(stackSpec("prod", resilient));
  const keys = throwAwayKeys(plan);
  for (const node of plan.nodes) {
    const text = renderFailover(node.name, node.failover, keys.publicKeys) as string;
    assert.ok(text, `${node.name} has a failover table`);
    const back = parseFailover(text, "x");
    assert.deepEqual(
      back.entries.map((e) => ({ lost: e.lost, peers: e.peers.map((p) => ({ key: p.publicKey, allowedIps: p.allowedIps })) })),
      (node.failover ?? []).map((e) => ({ lost: keys.publicKeys[e.lost], peers: e.peers.map((p) => ({ key: keys.publicKeys[p.name], allowedIps: p.allowedIps })) })),
    );
    assert.doesNotMatch(text, /PrivateKey|PresharedKey/);
  }
  assert.throws(() => parseFailover("[Peer]\nPublicKey = x\n", "f.conf"), /f\.conf:1: a \[Peer\] before any \[Lost\]/);
  assert.throws(() => parseFailover("[Watchdog]\nDownAfter = 0\n", "f.conf"), /f\.conf:2: DownAfter must be whole seconds from 1 to 3600/);
});
