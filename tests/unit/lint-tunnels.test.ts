/**
 * What breaks a tunnel without breaking routing (issue 9): on the planned prod mesh, each of
 * these used to lint as "132 of 132 ordered pairs reachable" and exit 0. Now the broken
 * handshakes make pairs unreachable with the reason, and every one is a finding.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { generatePresharedKey } from "../../infra/keys";
import type { WgPeer, WgQuickConfig } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { offlineEndpoints, renderAll, throwAwayKeys, type MeshKeys } from "../../infra/render/mesh";
import { lintConfigs, type LintReport } from "../../infra/simulate";
import { formatWgQuick, parseWgQuick } from "../../infra/wgquick";
import { seedSpec } from "../support/seed-spec";

const BIN = join(resolve(__dirname, "..", ".."), "cli", "bin.js");

function prod(): { configs: Map<string, WgQuickConfig>; keys: MeshKeys } {
  const plan = planMesh(seedSpec());
  const keys = throwAwayKeys(plan);
  const texts = renderAll(plan, keys, offlineEndpoints(plan));
  return { configs: new Map(Object.entries(texts).map(([n, t]) => [n, parseWgQuick(t, `${n}.conf`)])), keys };
}

function peerOf(configs: Map<string, WgQuickConfig>, keys: MeshKeys, node: string, peer: string): WgPeer {
  const found = configs.get(node)?.peers.find((p) => p.publicKey === keys.publicKeys[peer]);
  return found ?? assert.fail(`${node} has no [Peer] for ${peer}`);
}

function findings(report: LintReport): string[] {
  return report.simulation.findings.map((f) => `${f.severity} ${f.kind} ${f.subject}`);
}

test("the planned prod mesh lints clean: the baseline the faults below break", () => {
  const r = lintConfigs(prod().configs);
  assert.equal(r.summary, "132 of 132 ordered pairs reachable");
  assert.deepEqual(r.simulation.findings.filter((f) => f.severity !== "note"), []);
  assert.deepEqual(r.groups, []);
  assert.equal(r.ok, true);
});

test("a PresharedKey on one side only: the handshake fails, the pairs across it are unreachable, and lint says why", () => {
  const { configs, keys } = prod();
  peerOf(configs, keys, "hkg", "nrt").presharedKey = generatePresharedKey();
  const r = lintConfigs(configs);
  assert.equal(r.ok, false);
  assert.ok(findings(r).includes("error preshared-key-mismatch hkg <-> nrt"), findings(r).join("\n"));
  assert.ok(r.causes.includes("hkg <-> nrt: hkg has a PresharedKey for nrt but nrt has none for hkg; WireGuard mixes it into the handshake, which then fails both ways, so nothing crosses this tunnel: give both sides the same PresharedKey, or none"));
  const p = r.simulation.pairs.find((x) => x.from === "hkg" && x.to === "nrt");
  assert.equal(p?.reachable, false);
  assert.equal(p?.failure?.reason, "no handshake with nrt: hkg has a PresharedKey for nrt but nrt has none for hkg, and a handshake needs the same one on both sides");
  assert.ok(r.simulation.reachable < 132);
  // Both sides with the same key is fine; with different keys it fails again.
  const psk = generatePresharedKey();
  const same = prod();
  peerOf(same.configs, same.keys, "hkg", "nrt").presharedKey = psk;
  peerOf(same.configs, same.keys, "nrt", "hkg").presharedKey = psk;
  assert.equal(lintConfigs(same.configs).ok, true);
  peerOf(same.configs, same.keys, "nrt", "hkg").presharedKey = generatePresharedKey();
  assert.ok(lintConfigs(same.configs).causes.some((c) => c.startsWith("hkg <-> nrt: their PresharedKeys for each other differ")));
});

test("a ListenPort other than the port every peer dials: tunnels only the node itself starts come up", () => {
  const { configs } = prod();
  (configs.get("ireland") as WgQuickConfig).iface.listenPort = 51821;
  const r = lintConfigs(configs);
  assert.equal(r.ok, false);
  assert.match(r.causes[0] ?? "", /^ireland: has ListenPort = 51821, but every peer that dials it \(hkg, gru, iad, ord, lax, lhr, fra, cdg, nrt, sin, syd\) dials port 51820, where nothing listens; only tunnels it starts itself come up: set ListenPort = 51820 or fix their Endpoints$/);
  // Every cloud node also dials the hub's peers, so in prod the hub's own Endpoints carry every tunnel: still reachable.
  assert.equal(r.summary, "132 of 132 ordered pairs reachable");
  // Without the hub's Endpoints (peers behind NAT, say) nothing would come up.
  for (const p of (configs.get("ireland") as WgQuickConfig).peers) delete p.endpoint;
  const dead = lintConfigs(configs);
  const gru = dead.simulation.pairs.find((x) => x.from === "gru" && x.to === "ireland");
  assert.equal(gru?.reachable, false);
  assert.equal(gru?.failure?.reason, 'no handshake with ireland: gru dials ireland at "ireland.endpoint.invalid:51820", but ireland listens on port 51821');
});

test("an Endpoint to the wrong node: its handshakes go where nobody can decrypt them; reachable only if the other side dials", () => {
  const { configs, keys } = prod();
  // hkg's Endpoint for ireland names nrt's host (which ireland and hkg both dial nrt at).
  peerOf(configs, keys, "hkg", "ireland").endpoint = "nrt.endpoint.invalid:51820";
  const rescued = lintConfigs(configs);
  assert.ok(findings(rescued).includes("warning endpoint-wrong-node ireland <-> hkg"), findings(rescued).join("\n"));
  assert.ok(rescued.causes.some((c) => c.startsWith(`ireland <-> hkg: hkg's Endpoint for ireland, "nrt.endpoint.invalid:51820", is nrt's address (other peers reach nrt there), so its handshakes go to nrt, which cannot decrypt them; the tunnel comes up only when ireland dials first`)));
  // ireland dials hkg too, so the tunnel still comes up from there (WireGuard then learns hkg's real address).
  assert.equal(rescued.simulation.reachable, 132);
  delete peerOf(configs, keys, "ireland", "hkg").endpoint;
  const r = lintConfigs(configs);
  assert.equal(r.ok, false);
  assert.ok(findings(r).includes("error endpoint-wrong-node ireland <-> hkg"), findings(r).join("\n"));
  const p = r.simulation.pairs.find((x) => x.from === "hkg" && x.to === "ireland");
  assert.equal(p?.failure?.reason, `no handshake with ireland: hkg dials ireland at "nrt.endpoint.invalid:51820", which is nrt's address, so nrt gets a handshake it cannot decrypt`);
});

test("MTUs that differ across a tunnel: every pair still pings, but full-size packets die where the smaller MTU forwards", () => {
  const { configs } = prod();
  (configs.get("nrt") as WgQuickConfig).iface.mtu = 1420; // the mesh's MTU is 1380 (the GCP POP's 1460 minus 80)
  const r = lintConfigs(configs);
  assert.equal(r.summary, "132 of 132 ordered pairs reachable");
  assert.equal(r.ok, false);
  assert.ok(findings(r).includes("error mtu-mismatch nrt"), findings(r).join("\n"));
  const lost = r.simulation.pairs.filter((p) => p.largePacket && !p.largePacket.reachable);
  // nrt's 1420-byte packets die at every node that forwards them: hkg (to sin, syd) and ireland (to the rest).
  assert.deepEqual(lost.map((p) => `${p.from}->${p.to}@${p.largePacket?.at}`).sort(), ["nrt->cdg@ireland", "nrt->fra@ireland", "nrt->gru@ireland", "nrt->iad@ireland", "nrt->lax@ireland", "nrt->lhr@ireland", "nrt->ord@ireland", "nrt->sin@hkg", "nrt->syd@hkg"]);
  assert.ok(r.problems.includes("reachable, but full-size packets are dropped at hkg: a 1420-byte packet (the sender's MTU) must leave again through wg0, whose MTU is 1380; with DF set it is dropped (2 ordered pairs: nrt -> sin, nrt -> syd)"), r.problems.join("\n"));
  assert.match(r.causes.find((c) => c.startsWith("nrt:")) ?? "", /^nrt: has MTU = 1420 but the other end of its tunnels with ireland, hkg has 1380; full-size packets are dropped where a node with the smaller MTU forwards them \(9 ordered pairs lose them, listed below\): set MTU = 1380 here, as on the rest of the mesh$/);
});

test("`wgmesh lint` on each of the four faults exits 1 and names the cause before the pairs", () => {
  const faults: [string, (c: Map<string, WgQuickConfig>, k: MeshKeys) => void, RegExp][] = [
    ["psk", (c, k) => (peerOf(c, k, "hkg", "nrt").presharedKey = generatePresharedKey()), /^hkg <-> nrt: hkg has a PresharedKey for nrt but nrt has none/],
    ["port", (c) => ((c.get("ireland") as WgQuickConfig).iface.listenPort = 51821), /^ireland: has ListenPort = 51821, but every peer/],
    [
      "endpoint",
      (c, k) => {
        peerOf(c, k, "hkg", "ireland").endpoint = "nrt.endpoint.invalid:51820";
        delete peerOf(c, k, "ireland", "hkg").endpoint;
      },
      /^(ireland <-> hkg|hkg <-> ireland): hkg's Endpoint for ireland, .* is nrt's address/,
    ],
    ["mtu", (c) => ((c.get("nrt") as WgQuickConfig).iface.mtu = 1420), /^nrt: has MTU = 1420/],
  ];
  for (const [name, apply, cause] of faults) {
    const { configs, keys } = prod();
    apply(configs, keys);
    const dir = mkdtempSync(join(tmpdir(), `wgmesh-lint-${name}-`));
    try {
      for (const [node, cfg] of configs) writeFileSync(join(dir, `${node}.conf`), formatWgQuick(cfg), { mode: 0o600 });
      const r = spawnSync(process.execPath, [BIN, "lint", dir], { encoding: "utf8" });
      assert.equal(r.status, 1, `${name}: ${r.stdout}${r.stderr}`);
      const lines = r.stdout.trimEnd().split("\n");
      assert.match(lines[0] ?? "", cause, `${name}: ${r.stdout}`);
      for (const k of Object.values(keys.privateKeys)) assert.ok(!r.stdout.includes(k.slice(0, 16)) && !r.stderr.includes(k.slice(0, 16)), `${name}: a private key in the output`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
