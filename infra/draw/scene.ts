/**
 * What every picture of a mesh shows, drawn from a plan once so the diagram, the Mermaid
 * text and the map cannot disagree: nodes grouped by area and region, the planned links
 * with their round trips, which nodes forward (the transit nodes), and, given the plan's single
 * failures, each node and link whose loss cuts pairs.
 */
import type { Cloud, LinkOrigin, MeshPlan, PlannedLink, PlannedNode, Role } from "../model";
import { placementOf } from "../render/wgquick";
import type { ResilienceReport } from "../simulate/resilience";

/** How a picture's round trips were obtained; every picture says which. */
export type RttKind = "measured" | "modelled" | "estimated";

/** A link's round trip in ms, or undefined where the source has none for it. */
export type LinkRtt = (link: PlannedLink, a: PlannedNode, b: PlannedNode) => number | undefined;

export interface LatencySource {
  linkRtt: LinkRtt;
  kind: RttKind;
  /** Where the figures come from, for people: "Azure P50, July 2025". */
  source: string;
}

/** Until a latency model is plugged in, a link's planner weight is its estimated round trip. */
export const PLANNER_ESTIMATES: LatencySource = {
  linkRtt: (link) => link.weight,
  kind: "estimated",
  source: "planner link weights: 10 ms within an area, 100 ms across, unless a link declares its own",
};

export interface DrawOptions {
  /** The stack's name, for titles. */
  stack: string;
  /** Round trips for the link labels and colours; PLANNER_ESTIMATES when left out. */
  latency?: LatencySource;
  /** Single failures walked on the plan: nodes and links whose loss cuts pairs are marked with how many. */
  resilience?: ResilienceReport;
}

export interface SceneNode {
  name: string;
  role: Role;
  cloud: Cloud;
  /** The cloud region, zone or location, or the external endpoint. */
  placement: string;
  site: string;
  address: string;
  area: string;
  region: string;
  transit: boolean;
  /** Pairs lost while this node is down (a single point of failure), when the picture says. */
  cuts?: number;
}

export interface SceneLink {
  id: string;
  a: string;
  b: string;
  origin: LinkOrigin;
  rttMs?: number;
  /** A backup link: idle until a failover. */
  backup?: boolean;
  /** Pairs lost while this link is cut, when the picture says. */
  cuts?: number;
}

export interface SceneRegion {
  name: string;
  subnet: string;
  nodes: SceneNode[];
}

export interface SceneArea {
  name: string;
  regions: SceneRegion[];
}

export interface Scene {
  stack: string;
  topology: string;
  /** In declaration order. */
  nodes: SceneNode[];
  /** In link-id order. */
  links: SceneLink[];
  /** Areas in the order their first region is declared; regions without nodes left out. */
  areas: SceneArea[];
  rttKind: RttKind;
  rttSource: string;
}

export function sceneOf(plan: MeshPlan, options: DrawOptions): Scene {
  const latency = options.latency ?? PLANNER_ESTIMATES;
  const byName = new Map(plan.nodes.map((n) => [n.name, n]));
  const cutBy = new Map((options.resilience?.failures ?? []).filter((f) => f.lost > 0).map((f) => [f.failure.kind === "node" ? f.failure.node : `${f.failure.a}--${f.failure.b}`, f.lost]));
  const nodes: SceneNode[] = plan.nodes.map((n) => ({
    name: n.name,
    role: n.role,
    cloud: n.cloud,
    placement: placementOf(plan, n.name),
    site: n.site,
    address: n.address,
    area: n.area,
    region: n.region,
    transit: n.forwarding,
    ...(cutBy.has(n.name) ? { cuts: cutBy.get(n.name) as number } : {}),
  }));
  const links: SceneLink[] = [...plan.links]
    .sort((p, q) => (p.id < q.id ? -1 : p.id > q.id ? 1 : 0))
    .map((l) => {
      const rtt = latency.linkRtt(l, byName.get(l.a) as PlannedNode, byName.get(l.b) as PlannedNode);
      const usable = rtt !== undefined && Number.isFinite(rtt) && rtt >= 0;
      return { id: l.id, a: l.a, b: l.b, origin: l.origin, ...(usable ? { rttMs: rtt } : {}), ...(l.backup ? { backup: true } : {}), ...(cutBy.has(l.id) ? { cuts: cutBy.get(l.id) as number } : {}) };
    });

  const areas: SceneArea[] = [];
  for (const r of plan.spec.regions) {
    const members = nodes.filter((n) => n.region === r.name);
    if (members.length === 0) continue;
    let area = areas.find((a) => a.name === r.area);
    if (!area) areas.push((area = { name: r.area, regions: [] }));
    area.regions.push({ name: r.name, subnet: r.subnet, nodes: members });
  }
  return { stack: options.stack, topology: plan.spec.topology, nodes, links, areas, rttKind: latency.kind, rttSource: latency.source };
}

/** "72 ms", rounded to what people compare; fractions only below 10 ms. */
export function formatRtt(ms: number): string {
  return `${ms < 10 ? Number(ms.toFixed(1)) : Math.round(ms)} ms`;
}

/** The sentence every picture carries about its round trips. */
export function rttNote(scene: Scene): string {
  return `Round trips ${scene.rttKind} (${scene.rttSource})`;
}

export function titleOf(scene: Scene): string {
  const n = scene.nodes.length;
  const l = scene.links.length;
  return `wg-mesh stack ${scene.stack}: ${n} node${n === 1 ? "" : "s"}, ${l} link${l === 1 ? "" : "s"}, topology ${scene.topology}`;
}
