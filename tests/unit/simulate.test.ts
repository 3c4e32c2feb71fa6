import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair, type KeyPair } from "../../infra/keys";
import type { WgPeer, WgQuickConfig } from "../../infra/model";
import { simulate, type PairResult, type SimulationReport } from "../../infra/simulate";

/** A peer entry as a test writes it: the peer's node name instead of its key. */
interface PeerDef {
  node: string;
  allowedIps: string[];
  /** Write an Endpoint for the peer (its underlay address and ListenPort). */
  endpoint?: boolean;
  keepalive?: number;
}

interface NodeDef {
  address: string;
  listenPort?: number;
  forwarding?: boolean;
  peers: PeerDef[];
  table?: string;
}

const FORWARDING = ["sysctl -w net.ipv4.ip_forward=1", "iptables -A FORWARD -i %i -o %i -j ACCEPT"];

/** wg-quick configs with real keys (one fresh pair per node); Endpoints use 198.18.0.0/15 underlay addresses. */
function mesh(defs: Record<string, NodeDef>, keys: Record<string, KeyPair> = {}): { configs: Record<string, WgQuickConfig>; keys: Record<string, KeyPair> } {
  const names = Object.keys(defs);
  for (const n of names) keys[n] ??= generateKeyPair();
  const configs: Record<string, WgQuickConfig> = {};
  names.forEach((name) => {
    const d = defs[name] as NodeDef;
    const peers: WgPeer[] = d.peers.map((p) => {
      const target = defs[p.node];
      const peer: WgPeer = { publicKey: (keys[p.node] as KeyPair).publicKey, allowedIps: p.allowedIps, comment: p.node };
      if (p.endpoint) peer.endpoint = `198.18.0.${names.indexOf(p.node) + 1}:${target?.listenPort ?? 51820}`;
      if (p.keepalive !== undefined) peer.persistentKeepalive = p.keepalive;
      return peer;
    });
    configs[name] = {
      iface: {
        privateKey: (keys[name] as KeyPair).privateKey,
        addresses: [d.address],
        listenPort: d.listenPort ?? 51820,
        postUp: d.forwarding ? [...FORWARDING] : [],
        postDown: [],
        preUp: [],
        preDown: [],
        other: new Map(d.table ? [["Table", d.table]] : []),
      },
      peers,
    };
  });
  return { configs, keys };
}

function pair(report: SimulationReport, from: string, to: string): PairResult {
  const p = report.pairs.find((x) => x.from === from && x.to === to);
  assert.ok(p, `pair ${from} -> ${to} in the report`);
  return p;
}

function kinds(report: SimulationReport): string[] {
  return report.findings.map((f) => `${f.severity} ${f.kind} ${f.subject}`);
}

/** hub h (forwards) and spokes that dial it; each spoke routes the whole /24 to the hub. */
function hubAndSpoke(spokes: string[], overrides: Partial<Record<string, Partial<NodeDef>>> = {}): Record<string, NodeDef> {
  const defs: Record<string, NodeDef> = {
    h: { address: "10.0.0.1/24", forwarding: true, peers: spokes.map((s, i) => ({ node: s, allowedIps: [`10.0.0.${i + 2}/32`], keepalive: 25 })) },
  };
  spokes.forEach((s, i) => {
    defs[s] = { address: `10.0.0.${i + 2}/24`, peers: [{ node: "h", allowedIps: ["10.0.0.0/24"], endpoint: true, keepalive: 25 }] };
  });
  for (const [n, o] of Object.entries(overrides)) defs[n] = { ...(defs[n] as NodeDef), ...o };
  return defs;
}

test("healthy hub-and-spoke: every ordered pair is reachable through the hub, the reply takes the reverse path", () => {
  const { configs } = mesh(hubAndSpoke(["a", "b", "c"]));
  const r = simulate(configs);
  assert.equal(r.total, 12);
  assert.equal(r.reachable, 12);
  assert.deepEqual(pair(r, "a", "b").path, ["a", "h", "b"]);
  assert.deepEqual(pair(r, "a", "b").returnPath, ["b", "h", "a"]);
  assert.deepEqual(pair(r, "h", "c").path, ["h", "c"]);
  assert.deepEqual(r.findings.filter((f) => f.severity !== "note"), []);
  assert.equal(r.nodes.find((n) => n.name === "h")?.forwarding, true);
});

test("healthy full mesh: every pair direct, no findings at all", () => {
  const names = ["a", "b", "c", "d"];
  const defs: Record<string, NodeDef> = {};
  names.forEach((n, i) => {
    defs[n] = { address: `10.1.0.${i + 1}/24`, peers: names.filter((m) => m !== n).map((m) => ({ node: m, allowedIps: [`10.1.0.${names.indexOf(m) + 1}/32`], endpoint: true })) };
  });
  const r = simulate(mesh(defs).configs);
  assert.equal(r.reachable, 12);
  for (const p of r.pairs) assert.deepEqual(p.path, [p.from, p.to]);
  assert.deepEqual(r.findings, []);
});

test("missing return route: b's AllowedIPs for the hub lack a's address, so a's packets die at b and b has no route back", () => {
  const { configs } = mesh(hubAndSpoke(["a", "b"], { b: { address: "10.0.0.3/24", peers: [{ node: "h", allowedIps: ["10.0.0.1/32"], endpoint: true, keepalive: 25 }] } }));
  const r = simulate(configs);
  assert.deepEqual(pair(r, "a", "b").failure, { direction: "forward", at: "b", reason: "source 10.0.0.2 is outside AllowedIPs of peer h" });
  assert.deepEqual(pair(r, "a", "b").path, ["a", "h", "b"]);
  // b's Address is a /24, so the kernel routes 10.0.0.2 into wg0, where no peer takes it.
  assert.deepEqual(pair(r, "b", "a").failure, { direction: "forward", at: "b", reason: "no peer's AllowedIPs contain 10.0.0.2" });
  assert.equal(pair(r, "b", "h").reachable, true);
  assert.equal(r.reachable, 4);
});

test("with a bare Address (/32) and no AllowedIPs for the destination, the kernel has no route at all", () => {
  const { configs } = mesh(hubAndSpoke(["a", "b"], { b: { address: "10.0.0.3", peers: [{ node: "h", allowedIps: ["10.0.0.1/32"], endpoint: true, keepalive: 25 }] } }));
  const r = simulate(configs);
  assert.deepEqual(pair(r, "b", "a").failure, { direction: "forward", at: "b", reason: "no route to 10.0.0.2: no AllowedIPs or Address prefix on its wg0 covers it" });
});

test("the reply can be what fails: with Table = off b accepts a's packet but has no route back", () => {
  const { configs } = mesh(hubAndSpoke(["a", "b"], { b: { address: "10.0.0.3/32", table: "off", peers: [{ node: "h", allowedIps: ["10.0.0.0/24"], endpoint: true, keepalive: 25 }] } }));
  const r = simulate(configs);
  const ab = pair(r, "a", "b");
  assert.equal(ab.reachable, false);
  assert.deepEqual(ab.failure, { direction: "reply", at: "b", reason: "no route to 10.0.0.2: no Address prefix on its wg0 covers it, and Table = off keeps AllowedIPs out of the main table" });
  assert.deepEqual(ab.path, ["a", "h", "b"]);
  assert.deepEqual(ab.returnPath, ["b"]);
});

test("Table = <a table of its own> routes nothing in the main table either (wg-quick adds no rule); Table = main does", () => {
  const withTable = (table: string) =>
    simulate(mesh(hubAndSpoke(["a", "b"], { b: { address: "10.0.0.3/32", table, peers: [{ node: "h", allowedIps: ["10.0.0.0/24"], endpoint: true, keepalive: 25 }] } })).configs);
  assert.deepEqual(pair(withTable("1234"), "b", "a").failure, {
    direction: "forward",
    at: "b",
    reason: "no route to 10.0.0.2: no Address prefix on its wg0 covers it, and Table = 1234 keeps AllowedIPs out of the main table",
  });
  for (const main of ["main", "auto"]) assert.equal(withTable(main).reachable, 6, `Table = ${main}`);
});

test("a shortcut listed on one side breaks the hub path: b takes a's address only from a, not from the hub", () => {
  // Replies always retrace the request (each hop accepted the source from the peer it now sends it to),
  // so asymmetric routing shows up as the request being refused on its way in.
  const defs = hubAndSpoke(["a", "b"]);
  (defs.b as NodeDef).peers.push({ node: "a", allowedIps: ["10.0.0.2/32"], endpoint: true, keepalive: 25 });
  (defs.a as NodeDef).peers.push({ node: "b", allowedIps: [], endpoint: true, keepalive: 25 });
  const r = simulate(mesh(defs).configs);
  assert.deepEqual(pair(r, "a", "b").failure, { direction: "forward", at: "b", reason: "source 10.0.0.2 is outside AllowedIPs of peer h (it belongs to peer a)" });
  assert.deepEqual(pair(r, "a", "b").path, ["a", "h", "b"]);
  assert.ok(kinds(r).includes("warning address-routed-elsewhere a"), "a's entry for b does not hold b's address");
});

test("peer listed on one side only: the other side refuses the handshake, and the lister is named in a finding", () => {
  const { configs } = mesh({
    a: { address: "10.2.0.1/32", peers: [{ node: "b", allowedIps: ["10.2.0.2/32"], endpoint: true }, { node: "c", allowedIps: ["10.2.0.3/32"], endpoint: true }] },
    b: { address: "10.2.0.2/32", peers: [{ node: "c", allowedIps: ["10.2.0.3/32"], endpoint: true }] },
    c: { address: "10.2.0.3/32", peers: [{ node: "a", allowedIps: ["10.2.0.1/32"] }, { node: "b", allowedIps: ["10.2.0.2/32"] }] },
  });
  const r = simulate(configs);
  const ab = pair(r, "a", "b");
  assert.equal(ab.failure?.at, "b");
  assert.match(ab.failure?.reason ?? "", /^a is not a peer of b \(no \[Peer\] with PublicKey .{8}…\), so b refuses its handshake$/);
  assert.equal(pair(r, "b", "a").failure?.reason, "no route to 10.2.0.1: no AllowedIPs or Address prefix on its wg0 covers it");
  assert.equal(pair(r, "a", "c").reachable, true);
  const oneSided = r.findings.find((f) => f.kind === "peer-not-listed-back");
  assert.equal(oneSided?.subject, "a");
  assert.match(oneSided?.message ?? "", /^lists peer b \(.{8}…\) which does not list it back; add a \[Peer\] for a to b or remove this one$/);
});

test("no Endpoint on either side: nobody can start the handshake", () => {
  const { configs } = mesh({
    a: { address: "10.3.0.1/32", peers: [{ node: "b", allowedIps: ["10.3.0.2/32"] }] },
    b: { address: "10.3.0.2/32", peers: [{ node: "a", allowedIps: ["10.3.0.1/32"] }] },
  });
  const r = simulate(configs);
  assert.deepEqual(pair(r, "a", "b").failure, { direction: "forward", at: "a", reason: "no handshake with b: neither a nor b has an Endpoint for the other" });
  assert.equal(pair(r, "b", "a").failure?.at, "b");
  assert.deepEqual(kinds(r), ["warning no-endpoint a <-> b"]);
});

test("forwarding off on a transit node: spoke-to-spoke dies at the hub, and the finding says how to fix it", () => {
  const { configs } = mesh(hubAndSpoke(["a", "b", "c"], { h: { forwarding: false } }));
  const r = simulate(configs);
  assert.deepEqual(pair(r, "a", "b").failure, { direction: "forward", at: "h", reason: "forwarding is off (no PostUp sets net.ipv4.ip_forward=1), so it drops packets for other nodes" });
  assert.equal(pair(r, "a", "h").reachable, true);
  assert.equal(r.reachable, 6);
  const f = r.findings.find((x) => x.kind === "forwarding-off");
  assert.equal(f?.severity, "error");
  assert.equal(f?.subject, "h");
  assert.match(f?.message ?? "", /^packets of other nodes must cross it \(e\.g\. a -> b, 6 packets in all\) but forwarding is off; add PostUp = sysctl -w net\.ipv4\.ip_forward=1$/);
});

test("wrong-peer AllowedIPs on the hub: what a sends is taken as b's address and dropped on the way in", () => {
  const defs = hubAndSpoke(["a", "b"]);
  (defs.h as NodeDef).peers = [
    { node: "a", allowedIps: ["10.0.0.3/32"] },
    { node: "b", allowedIps: ["10.0.0.2/32"] },
  ];
  const r = simulate(mesh(defs).configs);
  assert.deepEqual(pair(r, "a", "h").failure, { direction: "forward", at: "h", reason: "source 10.0.0.2 is outside AllowedIPs of peer a (it belongs to peer b)" });
  assert.deepEqual(pair(r, "a", "h").path, ["a", "h"]);
  assert.equal(r.reachable, 0);
  const misrouted = r.findings.filter((f) => f.kind === "address-routed-elsewhere").map((f) => f.message);
  assert.equal(misrouted.length, 2);
  assert.match(misrouted[0] ?? "", /^a's address 10\.0\.0\.2 matches 10\.0\.0\.2\/32 of peer b before anything of peer a/);
});

test("a routing loop is detected and named", () => {
  // a sends d's address to b, b sends it back to a; both forward and accept each other's sources.
  const { configs } = mesh({
    a: { address: "10.4.0.1/32", forwarding: true, peers: [{ node: "b", allowedIps: ["10.4.0.0/24"], endpoint: true }] },
    b: { address: "10.4.0.2/32", forwarding: true, peers: [{ node: "a", allowedIps: ["10.4.0.0/24"], endpoint: true }, { node: "d", allowedIps: ["10.4.1.0/24"], endpoint: true }] },
    d: { address: "10.4.0.3/32", peers: [{ node: "b", allowedIps: ["10.4.0.0/16"], endpoint: true }] },
  });
  const r = simulate(configs);
  const ad = pair(r, "a", "d");
  assert.deepEqual(ad.failure, { direction: "forward", at: "a", reason: "loop: a -> b -> a" });
  assert.deepEqual(ad.path, ["a", "b", "a"]);
});

test("an identical prefix on two peers belongs to the last one listed (WireGuard's rule)", () => {
  const defs = (bLast: boolean): Record<string, NodeDef> => {
    const toB: PeerDef = { node: "b", allowedIps: ["10.5.1.0/24"], endpoint: true };
    const toC: PeerDef = { node: "c", allowedIps: ["10.5.2.0/24", "10.5.1.0/24"], endpoint: true };
    return {
      a: { address: "10.5.0.1/24", peers: bLast ? [toC, toB] : [toB, toC] },
      b: { address: "10.5.1.1/24", peers: [{ node: "a", allowedIps: ["10.5.0.0/24"], endpoint: true }, { node: "c", allowedIps: ["10.5.2.0/24"], endpoint: true }] },
      c: { address: "10.5.2.1/24", forwarding: true, peers: [{ node: "a", allowedIps: ["10.5.0.0/24"], endpoint: true }, { node: "b", allowedIps: ["10.5.1.0/24"], endpoint: true }] },
    };
  };
  const keys: Record<string, KeyPair> = {};
  const cLast = simulate(mesh(defs(false), keys).configs);
  assert.deepEqual(pair(cLast, "a", "b").path, ["a", "c", "b"], "c is listed last, so it gets 10.5.1.0/24");
  assert.deepEqual(pair(cLast, "a", "b").failure, { direction: "forward", at: "b", reason: "source 10.5.0.1 is outside AllowedIPs of peer c (it belongs to peer a)" });
  const tie = cLast.findings.find((f) => f.kind === "identical-allowed-ips");
  assert.equal(tie?.severity, "error");
  assert.equal(tie?.message, "AllowedIPs 10.5.1.0/24 is on peers b and c; WireGuard keeps it only on the last listed, c; keep it on one peer");

  const bLast = simulate(mesh(defs(true), keys).configs);
  assert.deepEqual(pair(bLast, "a", "b").path, ["a", "b"]);
  assert.equal(pair(bLast, "a", "b").reachable, true);
  assert.equal(bLast.findings.find((f) => f.kind === "identical-allowed-ips")?.message, "AllowedIPs 10.5.1.0/24 is on peers c and b; WireGuard keeps it only on the last listed, b; keep it on one peer");
});

test("a second [Peer] with the same key replaces the first one's AllowedIPs, as wg setconf does", () => {
  const { configs, keys } = mesh(hubAndSpoke(["a", "b"]));
  const h = configs.h as WgQuickConfig;
  h.peers.push({ publicKey: (keys.a as KeyPair).publicKey, allowedIps: ["10.0.0.99/32"] });
  const r = simulate(configs);
  assert.equal(pair(r, "h", "a").failure?.reason, "no peer's AllowedIPs contain 10.0.0.2");
  assert.ok(kinds(r).includes("warning duplicate-peer h"));
  assert.deepEqual(r.nodes.find((n) => n.name === "h")?.peers.find((p) => p.node === "a")?.allowedIps, ["10.0.0.99/32"]);
});

test("a peer whose key is no node's: the packet is dropped naming the key's first 8 characters", () => {
  const { configs } = mesh(hubAndSpoke(["a", "b"]));
  const stranger = generateKeyPair().publicKey;
  (configs.a as WgQuickConfig).peers.unshift({ publicKey: stranger, endpoint: "198.18.9.9:51820", allowedIps: ["10.0.0.3/32"] });
  const r = simulate(configs);
  assert.deepEqual(pair(r, "a", "b").failure, { direction: "forward", at: "a", reason: `AllowedIPs send 10.0.0.3 to peer ${stranger.slice(0, 8)}…, whose PublicKey is no node's` });
  assert.ok(kinds(r).includes("warning unknown-peer a"));
});

test("a missing or placeholder PrivateKey: a finding, and the node takes part in no link", () => {
  const { configs } = mesh(hubAndSpoke(["a", "b"]));
  (configs.a as WgQuickConfig).iface.privateKey = "<a-private-key>";
  delete (configs.b as WgQuickConfig).iface.privateKey;
  const r = simulate(configs);
  assert.deepEqual(pair(r, "a", "h").failure, { direction: "forward", at: "a", reason: "a cannot handshake: its PrivateKey is not a WireGuard key (a placeholder?)" });
  assert.deepEqual(pair(r, "h", "b").failure, { direction: "forward", at: "b", reason: "b cannot handshake: its PrivateKey is missing" });
  assert.equal(r.reachable, 0);
  assert.deepEqual(
    kinds(r).filter((k) => k.startsWith("error")),
    ["error bad-private-key a", "error bad-private-key b"],
  );
  assert.equal(r.nodes.find((n) => n.name === "a")?.publicKey, undefined);
});

test("two nodes with one PrivateKey, or one Address, are errors", () => {
  const { configs } = mesh(hubAndSpoke(["a", "b", "c"]));
  (configs.c as WgQuickConfig).iface.privateKey = (configs.b as WgQuickConfig).iface.privateKey;
  (configs.c as WgQuickConfig).iface.addresses = ["10.0.0.2/24"];
  const r = simulate(configs);
  assert.ok(kinds(r).includes("error duplicate-public-key c"));
  assert.ok(kinds(r).includes("error duplicate-address c"));
});

test("an Endpoint known only on a side without PersistentKeepalive is warned about; the link still works", () => {
  const { configs } = mesh({
    a: { address: "10.6.0.1/32", peers: [{ node: "b", allowedIps: ["10.6.0.2/32"], endpoint: true }] },
    b: { address: "10.6.0.2/32", peers: [{ node: "a", allowedIps: ["10.6.0.1/32"] }] },
  });
  const r = simulate(configs);
  assert.equal(r.reachable, 2);
  const w = r.findings.find((f) => f.kind === "endpoint-one-side-no-keepalive");
  assert.equal(w?.subject, "a <-> b");
  assert.equal(w?.message, "only a has an Endpoint (for b) and it sends no PersistentKeepalive, so b -> a traffic waits until a sends first; add PersistentKeepalive = 25 to a's [Peer] for b");
});

test("nested AllowedIPs are a note, unless they send a peer's own address to another peer", () => {
  const fine = mesh({
    a: { address: "10.7.0.1/32", peers: [{ node: "h", allowedIps: ["10.7.0.0/16"], endpoint: true, keepalive: 25 }, { node: "b", allowedIps: ["10.7.1.0/24"], endpoint: true }] },
    b: { address: "10.7.1.1/32", peers: [{ node: "a", allowedIps: ["10.7.0.1/32"], endpoint: true }] },
    h: { address: "10.7.2.1/32", peers: [{ node: "a", allowedIps: ["10.7.0.1/32"] }] },
  });
  const r1 = simulate(fine.configs);
  assert.deepEqual(kinds(r1), ["note nested-allowed-ips a"]);

  // b's /20 holds b's address, but h's more specific /24 catches it first.
  const wrong = mesh({
    a: { address: "10.7.0.1/32", peers: [{ node: "h", allowedIps: ["10.8.0.0/16", "10.7.1.0/24"], endpoint: true, keepalive: 25 }, { node: "b", allowedIps: ["10.7.0.0/20"], endpoint: true }] },
    b: { address: "10.7.1.1/32", peers: [{ node: "a", allowedIps: ["10.7.0.1/32"], endpoint: true }] },
    h: { address: "10.8.0.1/32", peers: [{ node: "a", allowedIps: ["10.7.0.1/32"] }] },
  });
  const r2 = simulate(wrong.configs);
  // The misrouting overlap is the warning, not also a note; h then receives b's traffic it cannot forward.
  assert.deepEqual(kinds(r2), ["error forwarding-off h", "warning address-routed-elsewhere a"]);
  assert.equal(
    r2.findings[1]?.message,
    "b's address 10.7.1.1 matches 10.7.1.0/24 of peer h before anything of peer b, so traffic for b goes to h and what b sends from 10.7.1.1 is dropped; add 10.7.1.1/32 to peer b's AllowedIPs or remove the overlap",
  );
  assert.equal(pair(r2, "a", "b").failure?.at, "h");
});

test("a source that is one of the node's own addresses never reaches another node: duplicate Address delivers locally", () => {
  const { configs } = mesh(hubAndSpoke(["a", "b"]));
  (configs.h as WgQuickConfig).iface.addresses.push("10.0.0.3/32");
  const r = simulate(configs);
  assert.deepEqual(pair(r, "a", "b").failure, { direction: "forward", at: "h", reason: "10.0.0.3 is also h's Address, so the packet is delivered to h, not b" });
});

test("an unknown [Interface] key is an error: wg setconf would refuse the file", () => {
  const { configs } = mesh(hubAndSpoke(["a"]));
  (configs.a as WgQuickConfig).iface.other = new Map([["Frobnicate", "yes"], ["DNS", "1.1.1.1"]]);
  assert.deepEqual(kinds(simulate(configs)), ["error unknown-interface-key a"]);
});

test("every node's report lists its derived public key, source address and peers by node", () => {
  const { configs, keys } = mesh(hubAndSpoke(["a"]));
  const r = simulate(configs);
  assert.deepEqual(r.nodes.find((n) => n.name === "a"), {
    name: "a",
    publicKey: (keys.a as KeyPair).publicKey,
    address: "10.0.0.2",
    forwarding: false,
    peers: [{ publicKey: (keys.h as KeyPair).publicKey, node: "h", allowedIps: ["10.0.0.0/24"], endpoint: "198.18.0.1:51820" }],
  });
});
