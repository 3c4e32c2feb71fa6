/**
 * `wgmesh diff` on real changes of prod (Pulumi.prod.yaml as shipped, edited the way a person
 * would): what each node gets in wg-quick words, how it takes it, and reachability before and
 * after. Each expectation follows from the planner and the sync unit's rules, not from the
 * diff's own output.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse, stringify } from "yaml";
import { loadStackConfig } from "../../infra/config";
import { diffMeshes, type MeshDiff, type NodeDiff } from "../../infra/diff";
import { diffToJson, formatDiffMarkdown, formatDiffText } from "../../infra/diff/format";
import { syncOutcome } from "../../infra/diff/sync";
import type { MeshPlan } from "../../infra/model";
import { planMesh } from "../../infra/plan";
import { parseWgQuick } from "../../infra/wgquick";

const REPO = resolve(__dirname, "..", "..");
const PROD = readFileSync(join(REPO, "Pulumi.prod.yaml"), "utf8");
const LABELS = { stack: "prod", base: "main", head: "working tree" };

type RawMesh = Record<string, unknown> & { nodes: Record<string, Record<string, unknown>>; regions: Record<string, unknown> };

function planOf(text: string): MeshPlan {
  return planMesh(loadStackConfig(text, "Pulumi.prod.yaml"));
}

/** prod with `edit` applied to its wg-mesh:mesh value, as a person would edit the YAML. */
function prodWith(edit: (mesh: RawMesh) => void): string {
  const doc = parse(PROD) as { config: Record<string, RawMesh> };
  edit(doc.config["wg-mesh:mesh"] as RawMesh);
  return stringify(doc);
}

function diffProd(edit: (mesh: RawMesh) => void): MeshDiff {
  return diffMeshes(planOf(PROD), planOf(prodWith(edit)));
}

function node(d: MeshDiff, name: string): NodeDiff {
  const n = d.nodes.find((x) => x.name === name);
  assert.ok(n, `${name} is in the diff (nodes: ${d.nodes.map((x) => x.name).join(", ")})`);
  return n;
}

const WAW = { role: "backend", region: "europe", site: "waw", address: "10.50.3.4", cloud: "aws", aws: { region: "eu-central-1" } };

test("no change: exit 0, nothing listed, reachability unchanged", () => {
  const d = diffMeshes(planOf(PROD), planOf(prodWith(() => undefined)));
  assert.equal(d.changed, false);
  assert.equal(d.exitCode, 0);
  assert.deepEqual(d.nodes, []);
  assert.deepEqual(d.reachability.before, { reachable: 132, total: 132 });
  assert.deepEqual(d.reachability.after, { reachable: 132, total: 132 });
});

test("add a backend: a new VM, the hub gets one peer in place, every other node untouched, 132 -> 156", () => {
  const d = diffProd((m) => {
    m.nodes.waw = WAW;
  });
  assert.equal(d.exitCode, 1);
  assert.deepEqual(d.nodesAdded.map((n) => n.name), ["waw"]);
  assert.deepEqual(d.linksAdded.map((l) => l.id), ["ireland--waw"]);
  assert.equal(node(d, "waw").take.kind, "new-vm");
  const hub = node(d, "ireland");
  assert.equal(hub.take.kind, "in-place");
  assert.deepEqual(hub.peers.map((p) => [p.peer, p.change]), [["waw", "added"]]);
  assert.equal(hub.peers[0]?.fields.find((f) => f.key === "AllowedIPs")?.after, "10.50.3.4/32");
  // Spokes reach the whole overlay through the hub already, so nothing else changes.
  assert.deepEqual(d.nodes.map((n) => n.name).sort(), ["ireland", "waw"]);
  assert.deepEqual(d.reachability.after, { reachable: 156, total: 156 });
  assert.deepEqual(d.reachability.lost, []);
  assert.deepEqual(d.reachability.pathsChanged, []);
});

test("add a POP in the americas: the area's backends peer with it in place and their paths to each other move onto it", () => {
  const d = diffProd((m) => {
    m.regions["americas-pop"] = { subnet: "10.50.6.0/24", area: "americas" };
    m.nodes.mia = { role: "pop", region: "americas-pop", site: "mia", address: "10.50.6.1", cloud: "gcp", gcp: { zone: "us-east1-b" } };
  });
  assert.equal(d.exitCode, 1);
  const americas = ["gru", "iad", "ord", "lax"];
  assert.deepEqual(d.linksAdded.map((l) => l.id).sort(), ["gru--mia", "iad--mia", "ireland--mia", "lax--mia", "mia--ord"]);
  for (const b of americas) {
    const n = node(d, b);
    assert.equal(n.take.kind, "in-place", `${b}: ${n.take.summary}`);
    assert.ok(n.peers.some((p) => p.peer === "mia" && p.change === "added"), `${b} gets mia as a peer`);
  }
  assert.equal(node(d, "mia").take.kind, "new-vm");
  // gru -> iad went through the hub; now the POP of their area carries it.
  const gruIad = d.reachability.pathsChanged.find((p) => p.from === "gru" && p.to === "iad");
  assert.deepEqual(gruIad?.before, ["gru", "ireland", "iad"]);
  assert.deepEqual(gruIad?.after, ["gru", "mia", "iad"]);
  assert.deepEqual(d.reachability.after, { reachable: 156, total: 156 });
  assert.deepEqual(d.reachability.lost, []);
});

test("change the MTU: every node running the agent sets it on its running interface, in place; nodes still on their user data's sync script restart", () => {
  const d = diffProd((m) => {
    m.mtu = 1280;
  });
  assert.equal(d.exitCode, 1);
  assert.deepEqual(d.settings.find((s) => s.key === "MTU"), {
    key: "MTU",
    before: "1380",
    after: "1280",
    effect: "every node sets the new MTU on its running interface (ip link set mtu), in place, no tunnel restart (set in config)",
  });
  assert.equal(d.nodes.length, 12);
  for (const n of d.nodes) {
    assert.equal(n.take.kind, "in-place", `${n.name}: ${n.take.summary}`);
    assert.match(n.take.summary, /MTU 1380 -> 1280 set on the running interface \(ip link set mtu\), no restart/);
    assert.deepEqual(n.interface.map((f) => [f.key, f.before, f.after]), [["MTU", "1380", "1280"]]);
    assert.deepEqual(n.peers, []);
  }
  assert.deepEqual(d.reachability.lost, []);
  // Against a release from before node agents, whose sync script restarts for a new MTU.
  const legacy = diffMeshes(planOf(PROD), planOf(prodWith((m) => (m.mtu = 1280))), { agent: { after: "0.2.0" } });
  assert.ok(legacy.nodes.every((n) => n.take.kind === "restart"));
  assert.match(legacy.settings.find((s) => s.key === "MTU")?.effect ?? "", /nodes still on the sync script of their user data do; once on the node agent, a new MTU is set in place/);
});

test("remove a node: its VM is deleted, its peers drop it in place, the pairs go with it", () => {
  const d = diffProd((m) => {
    delete m.nodes.sin;
  });
  assert.equal(d.exitCode, 1);
  assert.deepEqual(d.nodesRemoved.map((n) => n.name), ["sin"]);
  assert.equal(node(d, "sin").take.kind, "deleted");
  assert.deepEqual(d.linksRemoved.map((l) => l.id).sort(), ["hkg--sin", "ireland--sin"]);
  for (const peer of ["ireland", "hkg"]) {
    const n = node(d, peer);
    assert.equal(n.take.kind, "in-place");
    assert.deepEqual(n.peers.filter((p) => p.change === "removed").map((p) => p.peer), ["sin"]);
  }
  assert.deepEqual(d.reachability.after, { reachable: 110, total: 110 });
  assert.deepEqual(d.reachability.lost, [], "pairs of a removed node are gone, not broken");
});

test("break a region: moving the APAC backends out of the clouds cuts them off until someone installs their configs (exit 3)", () => {
  const d = diffProd((m) => {
    for (const name of ["nrt", "sin", "syd"]) {
      const n = m.nodes[name] as Record<string, unknown>;
      delete n.aws;
      delete n.gcp;
      delete n.azure;
      n.cloud = "external";
    }
  });
  assert.equal(d.exitCode, 3);
  assert.equal(d.breaksReachability, true);
  for (const name of ["nrt", "sin", "syd"]) {
    const n = node(d, name);
    assert.equal(n.take.kind, "by-hand");
    assert.match(n.take.reasons.join(" "), /its VM and vault are deleted/);
  }
  // Declared behind NAT they still plan fully reachable, once installed...
  assert.deepEqual(d.reachability.after, { reachable: 132, total: 132 });
  // ...but until then nothing runs them: only the other 9 nodes reach each other (9 * 8 pairs),
  // and every one of the 132 - 72 pairs that touches them is lost.
  assert.deepEqual(d.reachability.meanwhile?.waitingOn, ["nrt", "sin", "syd"]);
  assert.equal(d.reachability.meanwhile?.reachable, 72);
  assert.equal(d.reachability.lost.length, 60);
  assert.ok(d.reachability.lost.every((l) => l.when === "meanwhile" && /installed by hand/.test(l.why)));
});

test("move a node to another AWS region: a new VM and a new public IP, which every peer takes as a new Endpoint in place", () => {
  const d = diffProd((m) => {
    (m.nodes.gru as { aws: { region: string } }).aws.region = "us-east-2";
  });
  const gru = node(d, "gru");
  assert.equal(gru.take.kind, "new-vm");
  assert.match(gru.take.reasons[0] ?? "", /aws.region sa-east-1 -> us-east-2: every resource of the node moves to the us-east-2 provider and is replaced/);
  const hub = node(d, "ireland");
  assert.equal(hub.take.kind, "in-place");
  assert.deepEqual(hub.peers.map((p) => [p.peer, p.fields.map((f) => f.key)]), [["gru", ["Endpoint"]]]);
  assert.match(formatDiffText(d, LABELS), /\+ Endpoint = gru's new public IP:51820/);
});

test("an instance type change stops and starts the VM; its wg0.conf stays the same", () => {
  const d = diffProd((m) => {
    (m.nodes.iad as { aws: Record<string, string> }).aws.instanceType = "t3.medium";
  });
  assert.deepEqual(d.nodes.map((n) => [n.name, n.take.kind]), [["iad", "restart-vm"]]);
  assert.deepEqual(node(d, "iad").peers, []);
});

test("rename a node: a new node and a deleted one, flagged as a likely rename", () => {
  const d = diffProd((m) => {
    m.nodes.tokyo = m.nodes.nrt as Record<string, unknown>;
    delete m.nodes.nrt;
  });
  assert.equal(node(d, "tokyo").renamedFrom, "nrt");
  assert.equal(node(d, "nrt").renamedTo, "tokyo");
  assert.equal(node(d, "tokyo").take.kind, "new-vm");
});

test("keyEpoch: every node sets its new PrivateKey with wg syncconf and sees every peer's PublicKey rotate", () => {
  const d = diffProd((m) => {
    m.keyEpoch = 2;
  });
  const hub = node(d, "ireland");
  assert.equal(hub.take.kind, "syncconf");
  assert.deepEqual(hub.interface.map((f) => f.key), ["PrivateKey"]);
  assert.equal(hub.peers.length, 11);
  assert.ok(hub.peers.every((p) => p.change === "changed" && p.fields.some((f) => f.key === "PublicKey")));
  const text = JSON.stringify(diffToJson(d, LABELS)) + formatDiffText(d, LABELS) + formatDiffMarkdown(d, LABELS);
  assert.doesNotMatch(text, /[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=/, "no key in any output");
});

test("the sync unit's order: Address beats MTU, a /0 restarts, a new key goes through syncconf, peers alone sync in place", () => {
  const conf = (iface: string, peers = "[Peer]\nPublicKey = bFYMi+ZBaWTlC3ZhT4jGiIDX9HDMV5iGtLWg8Zhv1ys=\nAllowedIPs = 10.0.0.2/32\n"): [string, ReturnType<typeof parseWgQuick>] => {
    const text = `[Interface]\n${iface}\n\n${peers}`;
    return [text, parseWgQuick(text, "t")];
  };
  const k1 = "PrivateKey = gI6EdUSYvn8ugXOt8QQD6Yc+JyiZxIhp3GInSWRfWGE=";
  const k2 = "PrivateKey = aI6EdUSYvn8ugXOt8QQD6Yc+JyiZxIhp3GInSWRfWGE=";
  const [a, ca] = conf(`${k1}\nAddress = 10.0.0.1/24\nMTU = 1380`);
  const [b, cb] = conf(`${k1}\nAddress = 10.0.0.9/24\nMTU = 1280`);
  assert.deepEqual(syncOutcome(a, b, ca, cb), { kind: "restart", reason: "Address", hooksSwapped: false });
  const [c, cc] = conf(`${k1}\nAddress = 10.0.0.1/24\nMTU = 1380`, "[Peer]\nPublicKey = bFYMi+ZBaWTlC3ZhT4jGiIDX9HDMV5iGtLWg8Zhv1ys=\nAllowedIPs = 0.0.0.0/0\n");
  assert.deepEqual(syncOutcome(a, c, ca, cc), { kind: "restart", reason: "a /0 AllowedIPs", hooksSwapped: false });
  const [e, ce] = conf(`${k2}\nAddress = 10.0.0.1/24\nMTU = 1380`);
  assert.equal(syncOutcome(a, e, ca, ce).kind, "syncconf");
  const [f, cf] = conf(`${k1}\nAddress = 10.0.0.1/24\nMTU = 1380`, "[Peer]\nPublicKey = bFYMi+ZBaWTlC3ZhT4jGiIDX9HDMV5iGtLWg8Zhv1ys=\nAllowedIPs = 10.0.0.2/32, 10.0.1.0/24\n");
  assert.equal(syncOutcome(a, f, ca, cf).kind, "in-place");
  assert.equal(syncOutcome(a, `# a comment\n${a}`, ca, ca).kind, "file-only");
});

test("--markdown is compact: one table row per node, wg-quick lines in collapsed blocks, no raw values breaking the table", () => {
  const d = diffProd((m) => {
    m.nodes.waw = WAW;
  });
  const out = formatDiffMarkdown(d, LABELS);
  assert.match(out, /Reachability \*\*132 of 132 → 156 of 156\*\* ordered pairs · ✅ every pair stays reachable/);
  assert.match(out, /^\| \+ \| `waw` backend, aws eu-central-1, 10\.50\.3\.4\/24 \| added, 1 peer \| \*\*new VM\*\*/m);
  assert.match(out, /<details><summary><code>ireland<\/code> wg0\.conf: peers: 1 added<\/summary>\n\n```diff\n\+ \[Peer\] # waw\n\+ AllowedIPs = 10\.50\.3\.4\/32/);
  for (const row of out.split("\n").filter((l) => l.startsWith("| "))) assert.equal(row.split(/(?<!\\)\|/).length, 6, row);
});

test("a backend becomes a POP: same VM and key (the component is aliased across roles), resized one step up, its address restarts the interface", () => {
  const d = diffProd((m) => {
    m.nodes.syd = { ...m.nodes.syd, role: "pop", region: "apac-pop", address: "10.50.5.2" };
  });
  const syd = node(d, "syd");
  assert.equal(syd.take.kind, "restart-vm");
  assert.ok(syd.take.reasons.some((r) => r.startsWith("azure.vmSize Standard_B1s -> Standard_B2s")), syd.take.reasons.join("\n"));
  assert.ok(!syd.take.reasons.some((r) => /new key|new VM/.test(r)), syd.take.reasons.join("\n"));
  // Its peers keep the same PublicKey for it: only their AllowedIPs for it change.
  for (const peer of d.nodes.filter((n) => n.name !== "syd")) {
    for (const p of peer.peers.filter((x) => x.peer === "syd")) assert.ok(!p.fields.some((f) => f.key === "PublicKey"), `${peer.name}: ${JSON.stringify(p)}`);
  }
});
