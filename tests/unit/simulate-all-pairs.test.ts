/**
 * The simulator's shared per-destination work gives exactly what walking every pair hop by hop
 * gives (PacketWalker alone, as the simulator did before), on planned meshes with faults
 * injected; the summary mode agrees with the full report; the sweep of a prefix table matches
 * its per-address lookup.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { publicKeyFromPrivate } from "../../infra/keys";
import type { WgQuickConfig } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { offlineEndpoints, renderAll, throwAwayKeys } from "../../infra/render/mesh";
import { simulate, simulateSummary } from "../../infra/simulate";
import { buildMeshModel } from "../../infra/simulate/mesh-model";
import { PrefixTable } from "../../infra/simulate/prefix-table";
import { PacketWalker } from "../../infra/simulate/walk";
import { parseWgQuick } from "../../infra/wgquick";
import { injectFaults } from "../support/faults";
import { randomMeshSpec } from "../support/random-mesh";

/** Every pair walked by PacketWalker alone: request, then reply. */
function reference(configs: Record<string, WgQuickConfig>): Map<string, { reachable: boolean; path: string[]; returnPath: string[]; at?: string; reason?: string }> {
  const mesh = buildMeshModel(configs);
  const walker = new PacketWalker(mesh);
  const out = new Map<string, { reachable: boolean; path: string[]; returnPath: string[]; at?: string; reason?: string }>();
  for (const a of mesh.nodes) {
    for (const b of mesh.nodes) {
      if (a === b) continue;
      const key = `${a.name}>${b.name}`;
      if (a.keyProblem || a.address === undefined || b.keyProblem || b.address === undefined) {
        out.set(key, { reachable: false, path: [a.name], returnPath: [] });
        continue;
      }
      const there = walker.walk(a, b, a.address, b.address, () => "");
      if (there.drop) {
        out.set(key, { reachable: false, path: there.path, returnPath: [], at: there.drop.at.name, reason: there.drop.reason });
        continue;
      }
      const back = walker.walk(b, a, b.address, a.address, () => "");
      out.set(key, back.drop ? { reachable: false, path: there.path, returnPath: back.path, at: back.drop.at.name, reason: back.drop.reason } : { reachable: true, path: there.path, returnPath: back.path });
    }
  }
  return out;
}

function faulted(seed: number): Record<string, WgQuickConfig> {
  const plan = planMesh(randomMeshSpec(seed, { maxNodes: 12 }));
  const keys = throwAwayKeys(plan);
  const texts = renderAll(plan, keys, offlineEndpoints(plan));
  const configs = Object.fromEntries(Object.entries(texts).map(([n, t]) => [n, parseWgQuick(t, n)]));
  return injectFaults(configs, seed, 1 + (seed % 4), (n) => keys.publicKeys[n] as string).configs;
}

test("faulted random meshes: every pair exactly as PacketWalker alone finds it, failures and findings included", () => {
  for (let seed = 1; seed <= 120; seed++) {
    const configs = faulted(seed);
    const expected = reference(configs);
    const report = simulate(configs);
    for (const p of report.pairs) {
      const e = expected.get(`${p.from}>${p.to}`);
      assert.deepEqual(
        { reachable: p.reachable, path: p.path, returnPath: p.returnPath, at: p.failure?.at, reason: p.failure?.reason },
        { reachable: e?.reachable, path: e?.path, returnPath: e?.returnPath, at: e?.at, reason: e?.reason },
        `seed ${seed} ${p.from} -> ${p.to}`,
      );
    }
    const summary = simulateSummary(configs);
    assert.equal(summary.reachable, report.reachable, `seed ${seed}`);
    assert.deepEqual(summary.failures, report.pairs.filter((p) => !p.reachable), `seed ${seed}`);
    assert.deepEqual(summary.findings, report.findings, `seed ${seed}`);
  }
});

test("summary mode: failures beyond the limit are counted, each pair is streamed once, known public keys are used", () => {
  const configs = faulted(1);
  const full = simulate(configs);
  const failing = full.pairs.filter((p) => !p.reachable).length;
  assert.ok(failing > 2);
  const seen: string[] = [];
  const keys = new Map(Object.values(configs).map((c) => [c.iface.privateKey as string, publicKeyFromPrivate(c.iface.privateKey as string)]));
  const s = simulateSummary(configs, { maxFailures: 2, onPair: (p) => seen.push(`${p.from}>${p.to}:${p.reachable}`), publicKeys: keys });
  assert.equal(s.failures.length, 2);
  assert.equal(s.failuresOmitted, failing - 2);
  assert.deepEqual(
    seen,
    full.pairs.map((p) => `${p.from}>${p.to}:${p.reachable}`),
  );
});

test("property: a prefix table's sweep over sorted addresses equals its lookup of each", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ base: fc.integer({ min: 0, max: 0xffff }), len: fc.integer({ min: 16, max: 32 }), value: fc.integer({ min: 0, max: 5 }) }), { maxLength: 40 }),
      fc.uniqueArray(fc.integer({ min: 0, max: 0xffff }), { maxLength: 200 }),
      (prefixes, hosts) => {
        const table = new PrefixTable<number>();
        for (const p of prefixes) {
          const len = p.len;
          const base = ((0x0a000000 + p.base) & ~(2 ** (32 - len) - 1)) >>> 0;
          table.set({ base, len }, p.value);
        }
        const ips = hosts.map((h) => 0x0a000000 + h).sort((a, b) => a - b);
        const swept: (number | undefined)[] = new Array(ips.length);
        table.matchAll(ips, swept);
        ips.forEach((ip, i) => assert.equal(swept[i], table.match(ip), `10.0.x.x ${ip}`));
      },
    ),
    { numRuns: 300 },
  );
});
