import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readConfigDir } from "../../workspace/configdir";
import { generateKeyPair, publicKeyFromPrivate } from "../../infra/keys";
import { lintConfigs, lintToJson } from "../../infra/simulate";
import { parseWgQuick } from "../../infra/wgquick";

const SEED_DIR = join(__dirname, "..", "data", "seed");

/** Hub h forwards; a dials it; b dials it too, but the hub has no [Peer] for b. */
function brokenMesh() {
  const k = { h: generateKeyPair(), a: generateKeyPair(), b: generateKeyPair() };
  const text = {
    h: `[Interface]\nPrivateKey = ${k.h.privateKey}\nAddress = 10.9.0.1/24\nListenPort = 51820\nPostUp = sysctl -w net.ipv4.ip_forward=1\n\n# a\n[Peer]\nPublicKey = ${k.a.publicKey}\nAllowedIPs = 10.9.0.2/32\n`,
    a: `[Interface]\nPrivateKey = ${k.a.privateKey}\nAddress = 10.9.0.2/24\n\n[Peer]\nPublicKey = ${k.h.publicKey}\nEndpoint = 198.18.0.1:51820\nAllowedIPs = 10.9.0.0/24\nPersistentKeepalive = 25\n`,
    b: `[Interface]\nPrivateKey = ${k.b.privateKey}\nAddress = 10.9.0.3/24\n\n[Peer]\nPublicKey = ${k.h.publicKey}\nEndpoint = 198.18.0.1:51820\nAllowedIPs = 10.9.0.0/24\nPersistentKeepalive = 25\n`,
  };
  return { keys: k, configs: Object.fromEntries(Object.entries(text).map(([n, t]) => [n, parseWgQuick(t, `${n}.conf`)])) };
}

test("lint on the seed: the three root causes first, each with its fix and the pairs it explains; no line per node and reason", () => {
  const report = lintConfigs(readConfigDir(SEED_DIR));
  const s = report.simulation;
  assert.deepEqual(report.problems, [
    "cause 1 of 3: cdg, fra, gru, iad, lax, lhr, ord have no route to 10.50.4.0/24, 10.50.5.0/24: no AllowedIPs covers them (28 ordered pairs: cdg -> hkg, cdg -> nrt, cdg -> sin, cdg -> syd, fra -> hkg, fra -> nrt, fra -> sin, fra -> syd and 20 more)",
    "  fix: in each of these 7 configs, add 10.50.4.0/24, 10.50.5.0/24 to the AllowedIPs of [Peer] ireland (ireland forwards to them)",
    "cause 2 of 3: cdg, fra, gru, iad, lax, lhr, ord drop packets from 10.50.4.0/24, 10.50.5.0/24 arriving through ireland: the [Peer] ireland AllowedIPs do not include these sources (28 ordered pairs: hkg -> cdg, nrt -> cdg, sin -> cdg, syd -> cdg, hkg -> fra, nrt -> fra, sin -> fra, syd -> fra and 20 more)",
    "  fix: in each of these 7 configs, add 10.50.4.0/24, 10.50.5.0/24 to the AllowedIPs of [Peer] ireland",
    "cause 3 of 3: nrt, sin, syd have no route to the other nodes of 10.50.4.0/24: no AllowedIPs covers them (6 ordered pairs: nrt -> sin, nrt -> syd, sin -> nrt, sin -> syd, syd -> nrt, syd -> sin)",
    "  fix: add to the AllowedIPs of [Peer] hkg (hkg forwards to them): on nrt 10.50.4.2/32, 10.50.4.3/32; on sin 10.50.4.1/32, 10.50.4.3/32; on syd 10.50.4.1/32, 10.50.4.2/32",
  ]);
  const explained = report.rootCauses.flatMap((c) => c.pairs.map((p) => `${p.from} -> ${p.to}`));
  assert.equal(new Set(explained).size, explained.length, "each pair in one cause");
  assert.equal(explained.length, s.total - s.reachable, "the three causes explain all 62 failing pairs");
  assert.equal(report.groups.length, 17, "the 17 where-and-why groups are still there for --json");
  assert.equal(report.summary, `${s.reachable} of ${s.total} ordered pairs reachable`);
  assert.equal(report.ok, false);
});

test("the seed with lint's fixes applied, exactly as they read: every pair reachable, nothing left to say", () => {
  const configs = new Map(readConfigDir(SEED_DIR));
  const keyOf = (node: string): string => publicKeyFromPrivate(configs.get(node)?.iface.privateKey as string);
  for (const cause of lintConfigs(configs).rootCauses) {
    for (const fix of cause.fixes) {
      const peer = configs.get(fix.node)?.peers.find((p) => p.publicKey === keyOf(fix.peer));
      assert.ok(peer, `${fix.node} has a [Peer] ${fix.peer}`);
      peer.allowedIps.push(...fix.add);
    }
  }
  const after = lintConfigs(configs);
  assert.equal(after.summary, "132 of 132 ordered pairs reachable");
  assert.deepEqual(after.problems, []);
});

test("lint lines: the causes (findings) first, most serious first, then the pairs grouped by where and why they fail", () => {
  const { keys, configs } = brokenMesh();
  const report = lintConfigs(configs);
  const refused = `b is not a peer of h (no [Peer] with PublicKey ${keys.b.publicKey.slice(0, 8)}…), so h refuses its handshake`;
  assert.deepEqual(report.problems, [
    `b: lists peer h (${keys.h.publicKey.slice(0, 8)}…) which does not list it back; add a [Peer] for b to h or remove this one`,
    "dropped at h: no peer's AllowedIPs contain 10.9.0.3 (2 ordered pairs: h -> b, a -> b)",
    `dropped at h: ${refused} (2 ordered pairs: b -> h, b -> a)`,
  ]);
  assert.equal(report.summary, "2 of 6 ordered pairs reachable");
  assert.equal(report.ok, false);
});

test("a reply that is lost is reported as `reply dropped at`", () => {
  const k = { a: generateKeyPair(), b: generateKeyPair() };
  const configs = {
    a: parseWgQuick(`[Interface]\nPrivateKey = ${k.a.privateKey}\nAddress = 10.8.0.1/32\nListenPort = 51820\n[Peer]\nPublicKey = ${k.b.publicKey}\nEndpoint = 198.18.0.2:51820\nAllowedIPs = 10.8.0.2/32\n`, "a.conf"),
    b: parseWgQuick(`[Interface]\nPrivateKey = ${k.b.privateKey}\nAddress = 10.8.0.2/32\nListenPort = 51820\nTable = off\n[Peer]\nPublicKey = ${k.a.publicKey}\nEndpoint = 198.18.0.1:51820\nAllowedIPs = 10.8.0.1/32\n`, "b.conf"),
  };
  const report = lintConfigs(configs);
  assert.ok(report.problems.includes("reply dropped at b: no route to 10.8.0.1: no Address prefix on its wg0 covers it, and Table = off keeps AllowedIPs out of the main table (1 ordered pair: a -> b)"), report.problems.join("\n"));
});

test("ok is true for a working mesh even with notes; warnings alone do not fail it, errors do", () => {
  const k = { a: generateKeyPair(), b: generateKeyPair() };
  const text = (self: typeof k.a, other: typeof k.a, addr: string, otherAddr: string, extra = "") =>
    `[Interface]\nPrivateKey = ${self.privateKey}\nAddress = ${addr}/32\nListenPort = 51820\n${extra}[Peer]\nPublicKey = ${other.publicKey}\nEndpoint = 198.18.0.9:51820\nAllowedIPs = ${otherAddr}/32\n`;
  const good = lintConfigs({ a: parseWgQuick(text(k.a, k.b, "10.7.0.1", "10.7.0.2"), "a"), b: parseWgQuick(text(k.b, k.a, "10.7.0.2", "10.7.0.1"), "b") });
  assert.deepEqual(good.problems, []);
  assert.equal(good.ok, true);
  assert.equal(good.summary, "2 of 2 ordered pairs reachable");
  const withError = lintConfigs({ a: parseWgQuick(text(k.a, k.b, "10.7.0.1", "10.7.0.2", "Frobnicate = 1\n"), "a"), b: parseWgQuick(text(k.b, k.a, "10.7.0.2", "10.7.0.1"), "b") });
  assert.equal(withError.simulation.reachable, 2);
  assert.equal(withError.ok, false);
  assert.match(withError.problems[0] ?? "", /^a: \[Interface\] key "Frobnicate" is neither wg-quick's nor wg's/);
});

test("lintToJson carries the verdict, every unreachable pair with its path, and the findings", () => {
  const { configs } = brokenMesh();
  const json = lintToJson(lintConfigs(configs));
  assert.equal(json.ok, false);
  assert.equal(json.reachable, 2);
  assert.equal(json.total, 6);
  assert.equal(json.summary, "2 of 6 ordered pairs reachable");
  assert.deepEqual(json.unreachable.find((u) => u.from === "h" && u.to === "b"), { from: "h", to: "b", direction: "forward", at: "h", reason: "no peer's AllowedIPs contain 10.9.0.3", path: ["h"], returnPath: [] });
  assert.deepEqual(json.findings.map((f) => [f.severity, f.kind, f.subject]), [["warning", "peer-not-listed-back", "b"]]);
  assert.deepEqual(JSON.parse(JSON.stringify(json)), json, "plain JSON");
});
