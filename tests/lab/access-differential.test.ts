/**
 * The access simulator proven against the real netfilter. Seeded random meshes (3 to 6 nodes, hub,
 * regional and full topologies, nodes behind NAT) each take four seeded random policies in turn,
 * replaced in place on the running lab: every node's ruleset applied by wgmesh-firewall (nft -f).
 * The fourth is applied to all nodes but one, which keeps the third's ruleset or has none at all, as
 * a node the agent has not reached yet, so the simulator must judge by what each node really runs.
 * For every ordered pair and every probe (tcp/22, tcp/443, tcp/8005, udp/53, udp/5353, ICMP echo),
 * the simulator's verdict must equal the lab's: an allowed flow connects; a denied one is dropped at
 * the node the simulator names (read from that node's dropped-flow set) and at no other; nothing else
 * is dropped anywhere.
 *
 * How many:
 *   by hand, all of them (25 meshes x 4 = 100 policies, about 10 minutes on 2 cores):
 *     sudo WGMESH_ACCESS_DIFF_SAMPLE=25 node --import tsx --test tests/lab/access-differential.test.ts
 *   CI (the default), 3 meshes x 4 = 12 policies, about a minute; WGMESH_ACCESS_DIFF_OFFSET=k
 *   shifts which meshes the sample takes (e.g. the CI run number), so runs cover the whole set.
 *
 * The iptables backend (the same compiled rulesets rendered for iptables-restore, applied with
 * iptables-legacy where installed; drops placed by the drop counters, lab/access.ts): CI runs 1 mesh
 * (4 policies) of the same set, WGMESH_ACCESS_DIFF_IPTABLES_SAMPLE=n takes more;
 * WGMESH_LAB_FIREWALL=iptables runs the main sample above on iptables instead.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compileAccess, FilterModel, type CompiledAccess, type NodeRuleset } from "../../infra/access";
import type { Probe } from "../../infra/access/services";
import type { MeshPlan, MeshSpec } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { simulate, type PairResult } from "../../infra/simulate";
import { compareFlows, labFirewallFromEnv, labIptables, LabAccess, type LabFirewall } from "../../lab/access";
import { configsFromPlan } from "../../lab/from-plan";
import { Lab } from "../../lab/lab";
import { findOnPath, labBlocker } from "../../lab/preflight";
import { leftoversOfLab } from "../../lab/teardown";
import { randomAccess } from "../support/random-access";
import { randomMeshSpec, rng } from "../support/random-mesh";

const blocker = labBlocker() ?? (findOnPath("nft") ? undefined : "nft not found: apt-get install nftables (scripts/setup.sh does)");
if (blocker) process.stderr.write(`\n*** SKIPPING the access differential: ${blocker} ***\n\n`);

const ALL_MESHES = 25;
const POLICIES_PER_MESH = 4;
const SAMPLE = Math.min(ALL_MESHES, Number(process.env.WGMESH_ACCESS_DIFF_SAMPLE ?? 3));
const OFFSET = Number(process.env.WGMESH_ACCESS_DIFF_OFFSET ?? 0);
const IPTABLES_SAMPLE = Math.min(ALL_MESHES, Number(process.env.WGMESH_ACCESS_DIFF_IPTABLES_SAMPLE ?? 1));
/** Seeds apart from the other differential's and the unit tests'. */
const FIRST_SEED = 22_000;

const PROBES: Probe[] = [
  { proto: "tcp", port: 22 },
  { proto: "tcp", port: 443 },
  { proto: "tcp", port: 8005 },
  { proto: "udp", port: 53 },
  { proto: "udp", port: 5353 },
  { proto: "icmp" },
];

function sampledSeeds(sample = SAMPLE): number[] {
  return Array.from({ length: sample }, (_, i) => FIRST_SEED + ((i * 7 + OFFSET) % ALL_MESHES));
}

function withAccess(spec: MeshSpec, seed: number): MeshPlan {
  const { access } = randomAccess(spec, seed);
  return planMesh({ ...spec, access });
}

interface MeshResult {
  policies: number;
  flows: number;
  allowed: number;
  denied: number;
  droppedForwarding: number;
  disagreements: string[];
}

async function runMesh(seed: number, firewall: LabFirewall): Promise<MeshResult> {
  const spec = randomMeshSpec(seed, { minNodes: 3, maxNodes: 6, natChance: 0.25 });
  const base = planMesh(spec);
  const input = configsFromPlan(base);
  const pairs = new Map<string, PairResult>(simulate(input.configs).pairs.map((p) => [`${p.from}>${p.to}`, p]));
  assert.ok([...pairs.values()].every((p) => p.reachable), `${seed}: the random mesh is fully reachable`);
  const lab = await Lab.up(input.configs, { concurrency: 8 });
  const a = new LabAccess(lab, { firewall });
  const result: MeshResult = { policies: 0, flows: 0, allowed: 0, denied: 0, droppedForwarding: 0, disagreements: [] };
  try {
    await a.startServers([22, 443, 8005], [53, 5353]);
    await lab.waitForHandshakes(10_000);
    const addresses = new Map(base.nodes.map((n) => [n.name, n.address]));
    const r = rng(seed);
    let previous: CompiledAccess | undefined;
    for (let k = 0; k < POLICIES_PER_MESH; k++) {
      const plan = withAccess(spec, seed * 10 + k);
      const compiled = compileAccess(plan, { iface: a.ifaceOf }) as CompiledAccess;
      const running = new Map<string, NodeRuleset | undefined>(compiled.rulesets);
      const texts = a.render(compiled);
      let twist = "";
      if (k === POLICIES_PER_MESH - 1 && previous) {
        // One node the new policy has not reached: it keeps the last ruleset, or runs none.
        const lagging = base.nodes[Math.floor(r() * base.nodes.length)]?.name as string;
        texts.delete(lagging);
        if (r() < 0.5) {
          running.set(lagging, previous.rulesets.get(lagging));
          twist = `; ${lagging} keeps the previous ruleset`;
        } else {
          await a.remove([lagging]);
          running.set(lagging, undefined);
          twist = `; ${lagging} runs none`;
        }
      }
      await a.apply(texts);
      const c = await compareFlows(a, new FilterModel(running, addresses), pairs, base.nodes.map((n) => n.name), PROBES);
      result.policies++;
      result.flows += c.flows;
      result.allowed += c.allowed;
      result.denied += c.denied;
      result.droppedForwarding += [...c.droppedAt].filter(([n]) => base.nodes.find((x) => x.name === n)?.forwarding).reduce((s, [, v]) => s + v, 0);
      result.disagreements.push(...c.disagreements.map((d) => `mesh ${seed} policy ${k} (${base.spec.topology}, ${base.nodes.length} nodes${twist}): ${d}`));
      previous = compiled;
    }
  } finally {
    await a.close();
    lab.down();
  }
  assert.deepEqual(leftoversOfLab(lab.id), [], `${seed}: lab ${lab.id} left things behind`);
  return result;
}

async function runSample(seeds: readonly number[], firewall: LabFirewall, t: { diagnostic(m: string): void }): Promise<void> {
  const started = Date.now();
  const totals: MeshResult = { policies: 0, flows: 0, allowed: 0, denied: 0, droppedForwarding: 0, disagreements: [] };
  for (const seed of seeds) {
    const r = await runMesh(seed, firewall);
    totals.policies += r.policies;
    totals.flows += r.flows;
    totals.allowed += r.allowed;
    totals.denied += r.denied;
    totals.droppedForwarding += r.droppedForwarding;
    totals.disagreements.push(...r.disagreements);
  }
  t.diagnostic(
    `access differential (${firewall}): ${seeds.length} meshes, ${totals.policies} policies, ${totals.flows} flows (${totals.allowed} allowed, ${totals.denied} denied, ` +
      `${totals.droppedForwarding} of them dropped by a forwarding node), ${totals.disagreements.length} disagreements, ${((Date.now() - started) / 1000).toFixed(0)}s`,
  );
  assert.deepEqual(totals.disagreements, [], "the simulator and the lab disagree");
  assert.ok(totals.allowed > 0 && totals.denied > 0, "policies both allowed and denied flows");
}

const MAIN = labFirewallFromEnv();

test(
  `access: simulator and real ${MAIN === "nft" ? "nftables" : "iptables"} agree on every flow of ${SAMPLE * POLICIES_PER_MESH} of ${ALL_MESHES * POLICIES_PER_MESH} random policies on random meshes`,
  { skip: blocker ? `lab cannot run here: ${blocker}` : false, timeout: 60 * 60_000 },
  async (t) => runSample(sampledSeeds(), MAIN, t),
);

const iptablesSkip = blocker ? `lab cannot run here: ${blocker}` : !labIptables() ? "iptables-restore not found: apt-get install iptables (scripts/setup.sh does)" : MAIN === "iptables" ? "the sample above ran on iptables" : false;

test(
  `access: simulator and real iptables (iptables-legacy where installed) agree on every flow of ${IPTABLES_SAMPLE * POLICIES_PER_MESH} of ${ALL_MESHES * POLICIES_PER_MESH} random policies on random meshes`,
  { skip: iptablesSkip, timeout: 60 * 60_000 },
  async (t) => runSample(sampledSeeds(IPTABLES_SAMPLE), "iptables", t),
);
