/**
 * The simulator proven against reality. For seeded random topologies, planned and rendered as
 * `wgmesh lab --stack` does, with random faults injected into the files (a peer removed on one
 * side, a prefix dropped from AllowedIPs, forwarding turned off, Endpoints removed on both
 * sides, an MTU that differs, a PresharedKey on one side only, a ListenPort nobody dials, an
 * Endpoint naming another node's host), the simulator's verdict on every ordered pair must
 * equal what real pings measure on wireguard-go in namespaces: reachable or not, for a
 * reachable pair the hops the reply crossed, and whether a full-size packet gets through.
 * The seed's hand-written files get the same comparison. Needs root; skipped loudly without it.
 *
 * Full-size packets: an MTU that differs breaks no handshake and no 84-byte ping, only packets
 * larger than some node on the path can forward. So every pair that answers a small ping is
 * also pinged once with DF set and the sender's MTU as its size (`ping -M do -s MTU-28`), which
 * is what TCP sends once path MTU discovery has run, and the simulator predicts that too.
 *
 * How many topologies:
 *   by hand, all of them (240, each with 1-3 faults):
 *     sudo node --import tsx --test tests/lab/differential.test.ts
 *   CI, a sample that stays under about 4 minutes on 2 cores (7 to 12 s per topology there,
 *   plus 30 s for the seed's files):
 *     WGMESH_DIFF_SAMPLE=20 node --import tsx --test tests/lab/differential.test.ts
 *   WGMESH_DIFF_OFFSET=k shifts which seeds the sample takes (e.g. the CI run number), so
 *   successive CI runs cover the whole set.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { planMesh } from "../../infra/plan";
import { lintConfigs, simulate, type ConfigSet, type PairResult as SimPair } from "../../infra/simulate";
import { readConfigDir } from "../../workspace/configdir";
import { run } from "../../lab/exec";
import { configsFromPlan } from "../../lab/from-plan";
import { Lab } from "../../lab/lab";
import { mapLimited } from "../../lab/exec";
import { hopsFromTtl, ping, pingFullSize } from "../../lab/ping";
import { labBlocker } from "../../lab/preflight";
import { leftoversOfLab } from "../../lab/teardown";
import { FAULT_KINDS, injectFaults, type InjectedFault } from "../support/faults";
import { randomMeshSpec } from "../support/random-mesh";

const blocker = labBlocker();
if (blocker) process.stderr.write(`\n*** SKIPPING the simulator-versus-lab differential test: ${blocker} ***\n\n`);

/** The whole set: enough that at least 200 carry faults of every kind. */
const ALL_TOPOLOGIES = 240;
const SAMPLE = Math.min(ALL_TOPOLOGIES, Number(process.env.WGMESH_DIFF_SAMPLE ?? ALL_TOPOLOGIES));
const OFFSET = Number(process.env.WGMESH_DIFF_OFFSET ?? 0);
const SEED_DIR = join(__dirname, "..", "data", "seed");
/** Seeds are offset so these meshes differ from the ones the unit tests use. */
const FIRST_SEED = 1000;

interface Disagreement {
  seed: number | string;
  faults: string;
  pair: string;
  simulator: string;
  lab: string;
  /** `wg show` of both ends when the lab measured it, so a failure can be understood afterwards. */
  wgShow?: string[];
}

interface TopologyResult {
  pairs: number;
  unreachable: number;
  /** Reachable pairs whose full-size packet the simulator expects to be dropped. */
  largeDropped: number;
  faults: InjectedFault[];
  rechecked: number;
  disagreements: Disagreement[];
}

/**
 * The seeds a run takes: SAMPLE of them, stepping by 7 (coprime with the set's size, so all of
 * them when SAMPLE is the whole set) from OFFSET. Each topology's first fault is of kind
 * seed mod 8, and stepping by 7 walks through every residue, so even a small sample injects
 * every kind.
 */
function sampledSeeds(): number[] {
  return Array.from({ length: SAMPLE }, (_, i) => FIRST_SEED + ((i * 7 + OFFSET) % ALL_TOPOLOGIES));
}

function simVerdict(p: SimPair): string {
  if (!p.reachable) return `unreachable (${p.failure?.direction === "reply" ? "reply " : ""}dropped at ${p.failure?.at}: ${p.failure?.reason})`;
  return `reachable, reply over ${p.returnPath.length - 1} hops (${p.returnPath.join(" -> ")})`;
}

function labVerdict(reachable: boolean, hops: number | undefined): string {
  return reachable ? `reachable, reply over ${hops} hops` : "unreachable";
}

/** Simulator and lab on the same configs: every ordered pair, reachability and the reply's hops. */
async function compare(seed: number | string, configs: ConfigSet, faults: InjectedFault[]): Promise<TopologyResult> {
  const sim = simulate(configs);
  const lab = await Lab.up(configs, { concurrency: 12 });
  const result: TopologyResult = { pairs: 0, unreachable: 0, largeDropped: 0, faults, rechecked: 0, disagreements: [] };
  try {
    // After the handshakes settle a working pair answers its first ping within milliseconds, so
    // a short timeout only risks calling a working pair dead; such a pair is pinged again below.
    const matrix = await lab.pingMatrix({ retries: 1, timeoutMs: 500, concurrency: 48 });
    const nodes = new Map(lab.nodeInfo().map((n) => [n.name, n]));
    const measured = new Map(matrix.pairs.map((p) => [`${p.from}\u0000${p.to}`, p]));
    // Full-size pings for every pair both sides call reachable, in parallel: an expected loss waits out its timeout.
    const fullSize = new Map<string, boolean>();
    const candidates = sim.pairs.filter((p) => p.reachable && p.largePacket && measured.get(`${p.from}\u0000${p.to}`)?.reachable);
    await mapLimited(candidates, 24, async (p) => {
      const [from, to] = [nodes.get(p.from), nodes.get(p.to)];
      if (from && to?.overlay) fullSize.set(`${p.from}\u0000${p.to}`, await pingFullSize(from.namespace, to.overlay, p.largePacket?.size as number, 1000));
    });
    for (const s of sim.pairs) {
      const m = measured.get(`${s.from}\u0000${s.to}`);
      assert.ok(m, `${seed}: the lab measured ${s.from} -> ${s.to}`);
      let reachable = m.reachable;
      let hops = m.hops;
      if (!reachable && s.reachable) {
        // A reply proves a pair reachable; a timeout does not prove it dead. Look harder, for
        // longer than WireGuard's 5 s handshake retry.
        result.rechecked++;
        const [from, to] = [nodes.get(s.from), nodes.get(s.to)];
        for (let i = 0; i < 12 && !reachable && from && to?.overlay; i++) {
          const reply = (await ping(from.namespace, to.overlay, 1, 1000))[0];
          if (reply) [reachable, hops] = [true, hopsFromTtl(reply.ttl)];
        }
      }
      result.pairs++;
      if (!s.reachable) result.unreachable++;
      const simHops = s.reachable ? s.returnPath.length - 1 : undefined;
      const large = s.largePacket;
      if (reachable && s.reachable && large) {
        // One DF ping of the sender's MTU; a loss the simulator does not expect gets a second try.
        const [from, to] = [nodes.get(s.from), nodes.get(s.to)];
        let through = fullSize.get(`${s.from}\u0000${s.to}`) ?? (from && to?.overlay ? await pingFullSize(from.namespace, to.overlay, large.size, 1000) : false);
        if (!through && large.reachable && from && to?.overlay) through = await pingFullSize(from.namespace, to.overlay, large.size, 2000);
        if (!large.reachable) result.largeDropped++;
        if (through !== large.reachable) {
          result.disagreements.push({
            seed,
            faults: faults.map((f) => f.description).join("; ") || "none",
            pair: `${s.from} -> ${s.to} (${large.size}-byte packet, DF)`,
            simulator: large.reachable ? "gets through" : `dropped at ${large.at}: ${large.reason}`,
            lab: through ? "gets through" : "lost",
          });
        }
      }
      if (reachable !== s.reachable || hops !== simHops) {
        const ends = [s.from, s.to].map((n) => nodes.get(n)?.iface as string);
        const wgShow = await Promise.all(ends.map(async (iface) => (await run("wg", ["show", iface], { allowFailure: true })).stdout));
        result.disagreements.push({
          seed,
          faults: faults.map((f) => f.description).join("; ") || "none",
          pair: `${s.from} -> ${s.to}`,
          simulator: simVerdict(s),
          lab: labVerdict(reachable, hops),
          wgShow,
        });
      }
    }
  } finally {
    lab.down();
  }
  assert.deepEqual(leftoversOfLab(lab.id), [], `${seed}: lab ${lab.id} left things behind`);
  return result;
}

async function compareOne(seed: number): Promise<TopologyResult> {
  const plan = planMesh(randomMeshSpec(seed, { minNodes: 3, maxNodes: 9, natChance: 0.25 }));
  const input = configsFromPlan(plan);
  const { configs, faults } = injectFaults(input.configs, seed, 1 + (seed % 3), (n) => input.keys.publicKeys[n] as string, FAULT_KINDS[seed % FAULT_KINDS.length]);
  return compare(seed, configs, faults);
}

test("the seed's own hand-written configs: the lab measures exactly what lint says, pair by pair", { skip: blocker ? `lab cannot run here: ${blocker}` : false, timeout: 180_000 }, async (t) => {
  const configs = readConfigDir(SEED_DIR);
  const r = await compare("seed", configs, []);
  const lint = lintConfigs(configs);
  t.diagnostic(`seed: ${r.pairs - r.unreachable} of ${r.pairs} ordered pairs reachable in the lab; lint: ${lint.summary}`);
  assert.deepEqual(r.disagreements, []);
  assert.equal(lint.summary, `${r.pairs - r.unreachable} of ${r.pairs} ordered pairs reachable`);
});

test(
  `simulator and real WireGuard agree on every ordered pair of ${SAMPLE} of ${ALL_TOPOLOGIES} random topologies with injected faults`,
  { skip: blocker ? `lab cannot run here: ${blocker}` : false, timeout: 90 * 60_000 },
  async (t) => {
    const started = Date.now();
    const totals = { topologies: 0, faulted: 0, faults: 0, pairs: 0, unreachable: 0, largeDropped: 0, rechecked: 0 };
    const byKind = new Map<string, number>();
    const disagreements: Disagreement[] = [];
    for (const seed of sampledSeeds()) {
      const r = await compareOne(seed);
      totals.topologies++;
      if (r.faults.length > 0) totals.faulted++;
      totals.faults += r.faults.length;
      totals.pairs += r.pairs;
      totals.unreachable += r.unreachable;
      totals.largeDropped += r.largeDropped;
      totals.rechecked += r.rechecked;
      for (const f of r.faults) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
      disagreements.push(...r.disagreements);
    }
    const kinds = [...byKind.entries()].map(([k, n]) => `${k} ${n}`).join(", ");
    const summary =
      `differential: ${totals.topologies} topologies (${totals.faulted} with injected faults: ${totals.faults} faults, ${kinds}), ` +
      `${totals.pairs} ordered pairs compared, ${totals.unreachable} unreachable, ${totals.largeDropped} more losing full-size packets, ` +
      `${disagreements.length} disagreements, ${totals.rechecked} pairs pinged again, ${((Date.now() - started) / 1000).toFixed(0)}s`;
    t.diagnostic(summary);
    assert.deepEqual(disagreements, [], "the simulator and the lab disagree");
    // The comparison must have covered broken pairs and every kind of fault, or it proves little.
    assert.equal(totals.faulted, totals.topologies, "every topology carries a fault");
    if (SAMPLE === ALL_TOPOLOGIES) assert.ok(totals.faulted >= 200, `only ${totals.faulted} topologies got a fault`);
    assert.ok(totals.unreachable > 0 && totals.unreachable < totals.pairs, "faults broke some pairs and left others working");
    if (SAMPLE >= FAULT_KINDS.length) assert.equal(byKind.size, FAULT_KINDS.length, `every fault kind injected (${kinds})`);
    if (SAMPLE === ALL_TOPOLOGIES) assert.ok(totals.largeDropped > 0, "some MTU fault dropped full-size packets");
  },
);
