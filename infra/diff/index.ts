/**
 * `wgmesh diff`: what a change of a stack's declaration does to the running mesh. Both sides are
 * planned, rendered with the same throw-away keys (a key survives where Pulumi would keep it) and
 * simulated, offline. Out come the nodes and links added and removed, each node's wg0.conf changes
 * in wg-quick words, how each node takes them (the sync unit's rules, or the cloud's for a new or
 * restarted VM), and reachability before and after, with any pair the change cuts.
 *
 * "After" is the mesh once the change is applied. Nodes wg-mesh does not run (cloud: external)
 * only change when someone installs their new wg0.conf by hand, so when one of them changes the
 * diff also simulates the mesh in between: cloud nodes on their new configs, external nodes on
 * their old ones (or on none, when they are new there). A pair reachable before and not in
 * either state is a pair the change breaks.
 */
import type { MeshPlan, NodeSpec, PlannedNode, WgQuickConfig } from "../model";
import { offlineEndpoints, renderAll } from "../render/mesh";
import { placementOf } from "../render/wgquick";
import { pairProblemLine, simulate } from "../simulate";
import type { PairResult, SimulationReport } from "../simulate";
import { parseWgQuick } from "../wgquick";
import { interfaceChanges, peerChanges, type FieldChange, type PeerChange } from "./changes";
import { hostChange, type HostChange } from "./host";
import { KeyBook } from "./keys";
import { syncOutcome, type SyncOutcome } from "./sync";
import { simulatePlanFailures } from "../simulate/plan";
import { resilienceChange, type ResilienceChange } from "./resilience";
import { compareVersions } from "../render/agent";
import { diffAccess, type AccessDiff } from "../access/diff";

export type { FieldChange, PeerChange } from "./changes";
export type { HostChange, HostEffect } from "./host";
export type { SyncKind, SyncOutcome } from "./sync";

export interface NodeBrief {
  name: string;
  role: string;
  cloud: string;
  /** Cloud region, zone or location; the endpoint, or "behind NAT", for an external node. */
  where: string;
  /** The wg-quick Address. */
  address: string;
}

export type TakeKind =
  | "new-vm"
  | "deleted"
  | "restart-vm"
  | "restart"
  | "syncconf"
  | "in-place"
  | "file-only"
  | "by-hand"
  | "cloud-only";

export interface NodeTake {
  kind: TakeKind;
  /** One sentence: what happens on the node and what its tunnels feel. */
  summary: string;
  /** Why, one line each (the setting or placement field that decides it). */
  reasons: string[];
}

export interface NodeDiff extends NodeBrief {
  status: "added" | "removed" | "changed";
  interface: FieldChange[];
  peers: PeerChange[];
  take: NodeTake;
  /** A removed and an added node with the same address: most likely a rename. */
  renamedFrom?: string;
  renamedTo?: string;
}

export interface Reach {
  reachable: number;
  total: number;
}

export interface PairLoss {
  from: string;
  to: string;
  /** "after": once applied; "meanwhile": until external nodes' configs are installed by hand. */
  when: "after" | "meanwhile";
  why: string;
}

export interface PathChange {
  from: string;
  to: string;
  before: string[];
  after: string[];
}

export interface LinkBrief {
  id: string;
  /** Routing cost (estimated RTT in ms). */
  weight: number;
}

/** The node agent each side of the diff deploys: its version, or none (a release from before agents). */
export interface AgentVersions {
  before?: string;
  after: string;
}

/** An agent update, its own kind of change: how many running nodes take it, and how. */
export interface AgentChange {
  /** "none" for a base from before node agents. */
  before: string;
  after: string;
  /** Cloud nodes on both sides: the running VMs that take it. */
  nodes: number;
  /** Older than the running one: every node refuses the whole entry. */
  backwards: boolean;
  summary: string;
}

export interface MeshDiff {
  changed: boolean;
  breaksReachability: boolean;
  /** 0 no change, 1 a change, 3 the change breaks reachability or sends nodes an older agent (2, bad input, never gets here). */
  exitCode: 0 | 1 | 3;
  /** Present when the node agent changes. */
  agent?: AgentChange;
  /** Mesh-wide settings that change, with what follows from each. */
  settings: (FieldChange & { effect?: string })[];
  nodesAdded: NodeBrief[];
  nodesRemoved: NodeBrief[];
  linksAdded: LinkBrief[];
  linksRemoved: LinkBrief[];
  /** Every node the change touches: added, removed, or changed on its cloud or in its wg0.conf. */
  nodes: NodeDiff[];
  /** Single failures before and after, and which got worse. */
  resilience: ResilienceChange;
  reachability: {
    before: Reach;
    after: Reach;
    /** Until every changed external node's config is installed by hand; absent when none changes. */
    meanwhile?: Reach & { waitingOn: string[] };
    lost: PairLoss[];
    pathsChanged: PathChange[];
  };
  /** Flows opened and closed, rulesets that change, the new policy's failing tests (infra/access); absent when neither side declares access. */
  access?: AccessDiff;
}

interface Side {
  plan: MeshPlan;
  texts: Record<string, string>;
  configs: Record<string, WgQuickConfig>;
  report: SimulationReport;
}

/** A cloud node whose public IP is replaced, offline: a reserved name that differs from its old one. */
export function newIpEndpoint(node: string): string {
  return `${node}.new-ip.endpoint.invalid`;
}

function render(plan: MeshPlan, keys: KeyBook, endpoints: Record<string, string>, label: string): Side {
  const texts = renderAll(plan, keys.keysFor(plan), endpoints);
  const configs = Object.fromEntries(Object.entries(texts).map(([n, t]) => [n, parseWgQuick(t, `${label} ${n}/wg0.conf`)]));
  return { plan, texts, configs, report: simulate(configs) };
}

function brief(plan: MeshPlan, n: PlannedNode): NodeBrief {
  return { name: n.name, role: n.role, cloud: n.cloud, where: placementOf(plan, n.name), address: n.interfaceAddress };
}

function specOf(plan: MeshPlan, name: string): NodeSpec {
  return plan.spec.nodes.find((n) => n.name === name) as NodeSpec;
}

const IN_PLACE = "wgmesh-sync applies it within a minute";

function syncTake(sync: SyncOutcome, host: HostChange): NodeTake {
  const hooks = `${sync.mtu ? `; MTU ${sync.mtu.before} -> ${sync.mtu.after} set on the running interface (ip link set mtu), no restart` : ""}${sync.hooksSwapped ? "; PostUp/PostDown changed, so the old PostDown runs, then the new PostUp" : ""}`;
  switch (sync.kind) {
    case "restart":
      return { kind: "restart", summary: `${sync.reason} changed, which wg syncconf cannot apply, so ${IN_PLACE} with wg-quick down and up: a brief drop on this node's tunnels`, reasons: host.reasons };
    case "syncconf":
      return { kind: "syncconf", summary: `${IN_PLACE}: wg syncconf sets the new ${sync.reason} without a restart, and this node's tunnels handshake again${hooks}`, reasons: host.reasons };
    case "in-place":
      return { kind: "in-place", summary: `${IN_PLACE} (wg addconf, peer removal, routes${sync.mtu ? ", ip link set mtu" : ""}); no tunnel drops${hooks}`, reasons: host.reasons };
    case "file-only":
      return { kind: "file-only", summary: "its vault secret is rewritten (comments only); nothing changes on the interface", reasons: host.reasons };
    case "unchanged":
      return { kind: "cloud-only", summary: "its wg0.conf stays the same", reasons: host.reasons };
  }
}

function take(base: NodeSpec, head: NodeSpec, host: HostChange, sync: SyncOutcome): NodeTake {
  if (head.cloud === "external") {
    if (base.cloud !== "external") {
      return { kind: "by-hand", summary: "install its new wg0.conf there by hand (externalConfigs); until then nothing runs it", reasons: host.reasons };
    }
    if (sync.kind === "unchanged" || sync.kind === "file-only") return { kind: "cloud-only", summary: "its wg0.conf stays the same; its peers follow", reasons: host.reasons };
    return { kind: "by-hand", summary: "reinstall its wg0.conf by hand (pulumi stack output externalConfigs --show-secrets); until then it runs the old one", reasons: host.reasons };
  }
  const ip = host.newPublicIp ? "; a new public IP, so every peer gets a new Endpoint for it" : "";
  if (host.effect === "replace") {
    return { kind: "new-vm", summary: `new VM: it boots, fetches its wg0.conf and comes up; its tunnels are down until then${ip}`, reasons: host.reasons };
  }
  if (host.effect === "restart-vm") {
    const conf = sync.kind === "unchanged" || sync.kind === "file-only" ? "" : ", and wgmesh-sync brings wg0 up with the new config at boot";
    return { kind: "restart-vm", summary: `VM stopped and started: its tunnels drop while it is down${conf}`, reasons: host.reasons };
  }
  const t = syncTake(sync, host);
  return host.newPublicIp ? { ...t, summary: t.summary + ip } : t;
}

function settingsChanges(base: MeshPlan, head: MeshPlan, legacyMtu: boolean): (FieldChange & { effect?: string })[] {
  const a = base.spec;
  const b = head.spec;
  const out: (FieldChange & { effect?: string })[] = [];
  const value = (key: string, x: unknown, y: unknown, effect?: string): void => {
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ key, before: String(x), after: String(y), ...(effect ? { effect } : {}) });
  };
  const list = (key: string, x: string[], y: string[], effect?: string): void => {
    const added = y.filter((v) => !x.includes(v));
    const removed = x.filter((v) => !y.includes(v));
    if (added.length + removed.length > 0) out.push({ key, before: x.join(", ") || "(none)", after: y.join(", ") || "(none)", added, removed, ...(effect ? { effect } : {}) });
  };
  value("overlay", a.overlay, b.overlay);
  value("topology", a.topology, b.topology);
  value("hub", a.hub, b.hub);
  value("listenPort", a.listenPort, b.listenPort, "every node's ListenPort and every firewall's WireGuard rule change; each node sets its port with wg syncconf");
  value("persistentKeepalive", a.persistentKeepalive, b.persistentKeepalive);
  value("mtu", a.mtu, b.mtu);
  value(
    "MTU",
    base.mtu,
    head.mtu,
    legacyMtu
      ? `every node restarts its interface for the new MTU (${head.mtuReason}): nodes still on the sync script of their user data do; once on the node agent, a new MTU is set in place`
      : `every node sets the new MTU on its running interface (ip link set mtu), in place, no tunnel restart (${head.mtuReason})`,
  );
  value("keyEpoch", a.keyEpoch, b.keyEpoch, "every private and preshared key is replaced; every node holds its new config until one moment (rotationMargin after the deploy) and then switches, each link making one new handshake (wgmesh plan --rotation)");
  value("presharedKeys", a.presharedKeys, b.presharedKeys);
  list("adminCidrs", a.adminCidrs, b.adminCidrs, "the SSH rule of every cloud node's firewall is updated in place");
  list("peerStacks", a.peerStacks, b.peerStacks, "read only by the stack program (pulumi preview); not part of this offline diff");
  const regions = (p: MeshPlan): string[] => p.spec.regions.map((r) => `${r.name} ${r.subnet} (${r.area})`);
  list("regions", regions(base), regions(head));
  return out;
}

function links(plan: MeshPlan): Map<string, LinkBrief> {
  return new Map(plan.links.map((l) => [l.id, { id: l.id, weight: l.weight }]));
}

function pairKey(p: { from: string; to: string }): string {
  return `${p.from}\u0000${p.to}`;
}

/** The mesh while external nodes still run what they ran before (or nothing, if new there). */
function meanwhile(base: Side, head: Side): { report: SimulationReport; waitingOn: string[]; idle: Set<string> } | undefined {
  const running: Record<string, WgQuickConfig> = {};
  const waitingOn: string[] = [];
  const idle = new Set<string>();
  for (const node of head.plan.nodes) {
    if (node.cloud !== "external") {
      running[node.name] = head.configs[node.name] as WgQuickConfig;
      continue;
    }
    const old = base.plan.nodes.find((n) => n.name === node.name);
    if (old?.cloud === "external") {
      if (base.texts[node.name] !== head.texts[node.name]) waitingOn.push(node.name);
      running[node.name] = base.configs[node.name] as WgQuickConfig;
    } else {
      waitingOn.push(node.name);
      idle.add(node.name);
    }
  }
  if (waitingOn.length === 0) return undefined;
  return { report: simulate(running), waitingOn, idle };
}

/** The agent change between two releases, for the nodes that run on both sides. */
function agentChange(agent: AgentVersions | undefined, basePlan: MeshPlan, headPlan: MeshPlan): AgentChange | undefined {
  if (!agent || agent.before === agent.after) return undefined;
  const baseCloud = new Set(basePlan.nodes.filter((n) => n.cloud !== "external").map((n) => n.name));
  const nodes = headPlan.nodes.filter((n) => n.cloud !== "external" && baseCloud.has(n.name)).length;
  const on = `on ${nodes} node${nodes === 1 ? "" : "s"}`;
  if (agent.before === undefined) {
    return {
      before: "none",
      after: agent.after,
      nodes,
      backwards: false,
      summary: `agent ${agent.after} ${on}, in place, no tunnel restart: the sync script of their user data applies the new entry in place and installs the bootstrap from it; its next run installs the agent`,
    };
  }
  const backwards = compareVersions(agent.after, agent.before) < 0;
  return {
    before: agent.before,
    after: agent.after,
    nodes,
    backwards,
    summary: backwards
      ? `agent ${agent.before} -> ${agent.after} ${on}: older than the agent they run, so every node refuses its whole entry (no config change reaches it); release it as a version above ${agent.before}`
      : `agent ${agent.before} -> ${agent.after} ${on}, in place, no tunnel restart`,
  };
}

export function diffMeshes(basePlan: MeshPlan, headPlan: MeshPlan, opts: { agent?: AgentVersions } = {}): MeshDiff {
  const legacyMtu = opts.agent !== undefined && opts.agent.before === undefined;
  const keys = new KeyBook();
  const baseNames = new Set(basePlan.nodes.map((n) => n.name));
  const headNames = new Set(headPlan.nodes.map((n) => n.name));
  const both = headPlan.nodes.filter((n) => baseNames.has(n.name)).map((n) => n.name);

  const hosts = new Map(both.map((name) => [name, hostChange(specOf(basePlan, name), specOf(headPlan, name))]));
  const base = render(basePlan, keys, offlineEndpoints(basePlan), "base");
  const headEndpoints = offlineEndpoints(headPlan);
  for (const [name, host] of hosts) {
    if (host.newPublicIp && specOf(headPlan, name).cloud !== "external") headEndpoints[name] = newIpEndpoint(name);
  }
  const head = render(headPlan, keys, headEndpoints, "head");
  const ownerOf = (k: string): string | undefined => keys.ownerOf(k);

  const nodes: NodeDiff[] = [];
  for (const name of both) {
    const host = hosts.get(name) as HostChange;
    const before = base.configs[name] as WgQuickConfig;
    const after = head.configs[name] as WgQuickConfig;
    const sync = syncOutcome(base.texts[name] as string, head.texts[name] as string, before, after, { legacyMtu });
    const t = take(specOf(basePlan, name), specOf(headPlan, name), host, sync);
    if (sync.kind === "unchanged" && host.reasons.length === 0) continue;
    const peers = peerChanges(before, after, ownerOf);
    const firewall = specOf(headPlan, name).cloud !== "external" && (t.kind === "in-place" || t.kind === "syncconf" || t.kind === "restart") && peers.some((p) => p.change !== "changed" || p.fields.some((f) => f.key === "Endpoint"));
    nodes.push({
      ...brief(headPlan, headPlan.nodes.find((n) => n.name === name) as PlannedNode),
      status: "changed",
      interface: interfaceChanges(before, after),
      peers,
      take: firewall ? { ...t, summary: `${t.summary}; its firewall's WireGuard rule follows its peers' IPs, updated in place` } : t,
    });
  }
  const nodesAdded = headPlan.nodes.filter((n) => !baseNames.has(n.name)).map((n) => brief(headPlan, n));
  const nodesRemoved = basePlan.nodes.filter((n) => !headNames.has(n.name)).map((n) => brief(basePlan, n));
  const empty: WgQuickConfig = { iface: { addresses: [], postUp: [], postDown: [], preUp: [], preDown: [], other: new Map() }, peers: [] };
  for (const n of nodesAdded) {
    const external = n.cloud === "external";
    nodes.push({
      ...n,
      status: "added",
      interface: interfaceChanges(empty, head.configs[n.name] as WgQuickConfig).filter((f) => f.key !== "PrivateKey"),
      peers: peerChanges(empty, head.configs[n.name] as WgQuickConfig, ownerOf),
      take: external
        ? { kind: "by-hand", summary: "install its wg0.conf there by hand (pulumi stack output externalConfigs --show-secrets)", reasons: [] }
        : { kind: "new-vm", summary: `new VM on ${n.cloud} with its static IP, firewall and vault secret; it comes up at first boot`, reasons: [] },
    });
  }
  for (const n of nodesRemoved) {
    const external = n.cloud === "external";
    nodes.push({
      ...n,
      status: "removed",
      interface: [],
      peers: [],
      take: external
        ? { kind: "by-hand", summary: "wg-mesh runs nothing there: take its interface down by hand", reasons: [] }
        : { kind: "deleted", summary: "its VM, static IP, firewall, vault secret and key are deleted", reasons: [] },
    });
  }
  for (const r of nodes.filter((n) => n.status === "removed")) {
    const a = nodes.find((n) => n.status === "added" && n.address.split("/")[0] === r.address.split("/")[0]);
    if (a) {
      a.renamedFrom = r.name;
      r.renamedTo = a.name;
      a.take = { ...a.take, reasons: [`most likely ${r.name} renamed: a node's resources are named after it, so a rename is a new node (new VM, new key, new public IP) and the old one is deleted`] };
    }
  }

  const baseLinks = links(basePlan);
  const headLinks = links(headPlan);
  const linksAdded = [...headLinks.values()].filter((l) => !baseLinks.has(l.id));
  const linksRemoved = [...baseLinks.values()].filter((l) => !headLinks.has(l.id));

  // Reachability: pairs of nodes on both sides that worked before and do not after (or meanwhile).
  const afterPairs = new Map(head.report.pairs.map((p) => [pairKey(p), p]));
  const between = meanwhile(base, head);
  const betweenPairs = new Map((between?.report.pairs ?? []).map((p) => [pairKey(p), p]));
  const lost: PairLoss[] = [];
  const pathsChanged: PathChange[] = [];
  for (const p of base.report.pairs) {
    if (!headNames.has(p.from) || !headNames.has(p.to) || !p.reachable) continue;
    const now = afterPairs.get(pairKey(p)) as PairResult;
    if (!now.reachable) {
      lost.push({ from: p.from, to: p.to, when: "after", why: pairProblemLine(now) });
      continue;
    }
    if (between) {
      const mid = betweenPairs.get(pairKey(p));
      const idle = [p.from, p.to].find((x) => between.idle.has(x));
      if (idle) lost.push({ from: p.from, to: p.to, when: "meanwhile", why: `${idle} runs no config until its wg0.conf is installed by hand` });
      else if (mid && !mid.reachable) lost.push({ from: p.from, to: p.to, when: "meanwhile", why: pairProblemLine(mid) });
    }
    if (now.path.join(" ") !== p.path.join(" ")) pathsChanged.push({ from: p.from, to: p.to, before: p.path, after: now.path });
  }
  const meanwhileReach = between
    ? { reachable: between.report.pairs.filter((p) => p.reachable).length, total: head.report.total, waitingOn: between.waitingOn }
    : undefined;

  const settings = settingsChanges(basePlan, headPlan, legacyMtu);
  const agent = agentChange(opts.agent, basePlan, headPlan);
  const access = diffAccess(basePlan, headPlan, base.report.pairs, head.report.pairs);
  const changed = settings.length > 0 || nodes.length > 0 || linksAdded.length > 0 || linksRemoved.length > 0 || agent !== undefined || Boolean(access?.changed);
  const breaksReachability = lost.length > 0 || head.report.reachable < head.report.total;
  const resilience = resilienceChange(simulatePlanFailures(basePlan, { listed: Infinity }), simulatePlanFailures(headPlan, { listed: Infinity }), new Set(both));
  const breaksAccessTests = (access?.failingTests.length ?? 0) > 0;
  return {
    changed,
    breaksReachability,
    exitCode: breaksReachability || breaksAccessTests || agent?.backwards ? 3 : changed ? 1 : 0,
    ...(agent ? { agent } : {}),
    settings,
    resilience,
    nodesAdded,
    nodesRemoved,
    linksAdded,
    linksRemoved,
    nodes: nodes.sort(nodeOrder),
    reachability: {
      before: { reachable: base.report.reachable, total: base.report.total },
      after: { reachable: head.report.reachable, total: head.report.total },
      ...(meanwhileReach ? { meanwhile: meanwhileReach } : {}),
      lost,
      pathsChanged,
    },
    ...(access ? { access } : {}),
  };
}

const STATUS_ORDER = { added: 0, removed: 1, changed: 2 } as const;
const TAKE_ORDER: Record<TakeKind, number> = { "new-vm": 0, deleted: 1, "by-hand": 2, "restart-vm": 3, restart: 4, syncconf: 5, "in-place": 6, "cloud-only": 7, "file-only": 8 };

function nodeOrder(a: NodeDiff, b: NodeDiff): number {
  return STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || TAKE_ORDER[a.take.kind] - TAKE_ORDER[b.take.kind] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}
