import { test } from "node:test";
import assert from "node:assert/strict";
import { containsIp, parseCidr, prefixOf } from "../../infra/cidr";
import { publicKeyFromPrivate } from "../../infra/keys";
import type { MeshPlan, WgQuickConfig } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { offlineEndpoints, renderAll, throwAwayKeys } from "../../infra/render/mesh";
import { simulate } from "../../infra/simulate";
import { forwardingEnabled, parseWgQuick } from "../../infra/wgquick";
import { FAULT_KINDS, injectFaults } from "../support/faults";
import { walk } from "../support/plan-walk";
import { randomMeshSpec } from "../support/random-mesh";
import { seedSpec } from "../support/seed-spec";

function renderedConfigs(plan: MeshPlan): Record<string, WgQuickConfig> {
  const texts = renderAll(plan, throwAwayKeys(plan), offlineEndpoints(plan));
  return Object.fromEntries(Object.entries(texts).map(([n, t]) => [n, parseWgQuick(t, `${n}/wg0.conf`)]));
}

test("the planner's seed mesh, rendered to files, is fully reachable in every topology, along the planned paths", () => {
  for (const topology of ["hub", "regional", "full"] as const) {
    const plan = planMesh(seedSpec({ topology }));
    const r = simulate(renderedConfigs(plan));
    assert.equal(r.reachable, r.total, `${topology}: ${r.pairs.filter((p) => !p.reachable).map((p) => `${p.from}->${p.to} ${p.failure?.reason}`).join("; ")}`);
    assert.deepEqual(r.findings.filter((f) => f.severity !== "note"), [], topology);
    for (const p of r.pairs) {
      assert.deepEqual(p.path, plan.routes.pathOf(p.from, p.to), `${topology} ${p.from} -> ${p.to}`);
      assert.deepEqual(p.returnPath, [...p.path].reverse());
    }
  }
});

test("random planned meshes: the simulator on the rendered files agrees with an independent walk of the plan", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const plan = planMesh(randomMeshSpec(seed));
    const r = simulate(renderedConfigs(plan));
    for (const p of r.pairs) {
      const expected = walk(plan, p.from, p.to);
      assert.equal(p.reachable, expected.ok, `seed ${seed} ${p.from} -> ${p.to}: ${p.failure?.reason ?? ""} / ${expected.why ?? ""}`);
      assert.deepEqual(p.path, expected.path, `seed ${seed} ${p.from} -> ${p.to}`);
    }
  }
});

/**
 * The same rules written the slow, obvious way: linear scans, no tables, no caches. The
 * simulator must give the same verdict (and the same dropping node) for every pair.
 */
function naiveVerdict(configs: Record<string, WgQuickConfig>, from: string, to: string): { ok: boolean; at?: string; direction?: string } {
  const names = Object.keys(configs);
  const cfg = (n: string) => configs[n] as WgQuickConfig;
  const pub = (n: string) => publicKeyFromPrivate(cfg(n).iface.privateKey as string);
  const nodeOf = (key: string) => names.find((n) => pub(n) === key);
  const addr = (n: string) => (parseCidr(cfg(n).iface.addresses[0] as string, true) as { ip: number }).ip;
  const lpm = (n: string, ip: number): string | undefined => {
    let best: { key: string; len: number } | undefined;
    for (const peer of cfg(n).peers) {
      for (const a of peer.allowedIps) {
        const c = parseCidr(a, true);
        if (!c || !containsIp(prefixOf(c.ip, c.len), ip)) continue;
        if (!best || c.len >= best.len) best = { key: peer.publicKey, len: c.len };
      }
    }
    return best?.key;
  };
  /** Where an Endpoint leads: the node most peers dial under its host (ties: nobody), by plain counting. */
  const hostOf = (e: string) => e.slice(0, e.lastIndexOf(":")).toLowerCase();
  const ownerOf = (host: string): string | undefined => {
    const votes = new Map<string, number>();
    for (const n of names) for (const p of cfg(n).peers) {
      const k = nodeOf(p.publicKey);
      if (p.endpoint && k && k !== n && hostOf(p.endpoint) === host) votes.set(k, (votes.get(k) ?? 0) + 1);
    }
    const sorted = [...votes.entries()].sort((x, y) => y[1] - x[1]);
    return sorted.length > 0 && (sorted.length === 1 || (sorted[1] as [string, number])[1] < (sorted[0] as [string, number])[1]) ? (sorted[0] as [string, number])[0] : undefined;
  };
  const endpointWorks = (e: string | undefined, target: string): boolean => {
    if (!e) return false;
    const owner = ownerOf(hostOf(e));
    if (owner !== undefined && owner !== target) return false;
    const listen = cfg(target).iface.listenPort;
    return listen !== undefined && Number(e.slice(e.lastIndexOf(":") + 1)) === listen;
  };
  const hasRoute = (n: string, ip: number) =>
    lpm(n, ip) !== undefined || cfg(n).iface.addresses.some((a) => { const c = parseCidr(a, true); return c !== undefined && containsIp(prefixOf(c.ip, c.len), ip); });
  const go = (a: string, src: number, dst: number): string | undefined => {
    const seen = [a];
    let at = a;
    while (addr(at) !== dst) {
      if (at !== a && !forwardingEnabled(cfg(at).iface)) return at;
      if (!hasRoute(at, dst)) return at;
      const key = lpm(at, dst);
      const next = key === undefined ? undefined : nodeOf(key);
      if (!next) return at;
      const back = cfg(next).peers.find((p) => p.publicKey === pub(at));
      if (!back) return next;
      const out = cfg(at).peers.find((p) => p.publicKey === key);
      if (out?.presharedKey !== back.presharedKey) return at;
      if (!endpointWorks(out?.endpoint, next) && !endpointWorks(back.endpoint, at)) return at;
      if (lpm(next, src) !== pub(at)) return next;
      if (seen.includes(next)) return next;
      seen.push(next);
      at = next;
    }
    return undefined;
  };
  const fwd = go(from, addr(from), addr(to));
  if (fwd) return { ok: false, at: fwd, direction: "forward" };
  const back = go(to, addr(to), addr(from));
  if (back) return { ok: false, at: back, direction: "reply" };
  return { ok: true };
}

test("with random faults injected into rendered files, the simulator agrees with a naive re-implementation on every pair", () => {
  let broken = 0;
  const kinds = new Set<string>();
  for (let seed = 1; seed <= 64; seed++) {
    const plan = planMesh(randomMeshSpec(seed, { maxNodes: 8 }));
    const clean = renderedConfigs(plan);
    const keyOf = (n: string) => publicKeyFromPrivate((clean[n] as WgQuickConfig).iface.privateKey as string);
    const { configs, faults } = injectFaults(clean, seed, 1 + (seed % 3), keyOf, FAULT_KINDS[seed % FAULT_KINDS.length]);
    faults.forEach((f) => kinds.add(f.kind));
    const r = simulate(configs);
    for (const p of r.pairs) {
      const naive = naiveVerdict(configs, p.from, p.to);
      const where = `seed ${seed} (${faults.map((f) => f.description).join("; ")}) ${p.from} -> ${p.to}: ${p.failure?.reason ?? "ok"}`;
      assert.equal(p.reachable, naive.ok, where);
      if (!naive.ok) {
        broken++;
        assert.equal(p.failure?.at, naive.at, where);
        assert.equal(p.failure?.direction, naive.direction, where);
      }
    }
  }
  assert.ok(broken > 0, "the faults broke something, so the comparison covered failures");
  assert.equal(kinds.size, FAULT_KINDS.length, `every kind of fault injected: ${[...kinds].join(", ")}`);
});
