/**
 * Meshes over a realistic world: nodes on the metros wg-mesh ships (infra/latency), spread as
 * real fleets are (most in a dozen big cloud metros, fewer in the next tier, a few everywhere
 * else), each a VM in a cloud that has a region there, some backends behind NAT. One region
 * (a /22 of the address plan) per metro. Deterministic for a seed; returns the config value
 * `wg-mesh:mesh` as a user would write it, so the bench can time validation too.
 */
import { formatIPv4 } from "../infra/cidr";
import { CLOUD_REGION_SITES, SHIPPED_REGIONS, SHIPPED_SITES } from "../infra/latency/data";
import type { TopologyMode } from "../infra/model";

export interface WorldMeshOptions {
  topology: TopologyMode;
  /** Share of backends that are external nodes behind NAT (default 0.1). */
  natShare?: number;
  seed?: number;
  maxStretch?: number;
  maxPeers?: number;
  /** `resilience: node`: two ways into the core for every node, failover tables for every single failure. */
  resilience?: "node";
  /**
   * Only the first this many metros (the largest; the hub's among them) get POPs; every other node is
   * a backend. A resilient mesh links its routers to each other, so a fleet with a POP in every metro
   * is more core than any vault holds.
   */
  routerMetros?: number;
  /**
   * Nodes per POP in a metro: a metro of k nodes gets ceil(k / nodesPerPop) POPs. Default: 4
   * under topology auto, one POP per metro otherwise. Only the hub and POPs carry others'
   * traffic (transitRoles' default), and at 16 peers each a metro needs about one router per
   * four nodes for auto to keep every pair within its bound; the hub-and-spoke topologies route
   * through the hub and their POPs alone, so their fleets keep one POP per metro.
   */
  nodesPerPop?: number;
}

/** An auto fleet's routers: one POP per this many nodes of a metro (see WorldMeshOptions.nodesPerPop). */
export const AUTO_NODES_PER_POP = 4;

/** The big cloud metros, then the next tier; every other shipped site has weight 1. */
const PRIMARY = ["iad", "pdx", "cmh", "dub", "fra", "lhr", "ams", "nrt", "sin", "syd", "gru", "bom"];
const SECONDARY = ["sfo", "lax", "ord", "dfw", "yyz", "cdg", "arn", "mxp", "mad", "zrh", "icn", "hkg", "kix", "mel", "tlv"];

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Which clouds have a region at each site, and the region's name. */
function cloudRegionsBySite(): Map<string, { cloud: "aws" | "gcp" | "azure"; region: string }[]> {
  const out = new Map<string, { cloud: "aws" | "gcp" | "azure"; region: string }[]>();
  for (const cloud of ["aws", "gcp", "azure"] as const) {
    for (const [region, site] of CLOUD_REGION_SITES[cloud]) {
      const list = out.get(site) ?? [];
      if (!list.some((x) => x.cloud === cloud)) list.push({ cloud, region });
      out.set(site, list);
    }
  }
  return out;
}

function areaOf(lat: number, lon: number): string {
  if (lon < -30) return "americas";
  if (lon < 60 && lat > 35) return "europe";
  if (lon < 60) return "emea";
  return "apac";
}

/** How many nodes each site gets: weights by tier, largest remainders, at least the hub's site. */
export function spreadOverSites(nodes: number): [string, number][] {
  const codes = [...SHIPPED_SITES.keys()].sort();
  const weight = (c: string) => (PRIMARY.includes(c) ? 8 : SECONDARY.includes(c) ? 3 : 1);
  const total = codes.reduce((s, c) => s + weight(c), 0);
  const exact = codes.map((c) => ({ c, x: (nodes * weight(c)) / total }));
  const counts = new Map(exact.map(({ c, x }) => [c, Math.floor(x)]));
  let left = nodes - [...counts.values()].reduce((a, b) => a + b, 0);
  for (const { c } of [...exact].sort((p, q) => q.x - Math.floor(q.x) - (p.x - Math.floor(p.x)) || weight(q.c) - weight(p.c) || (p.c < q.c ? -1 : 1))) {
    if (left === 0) break;
    counts.set(c, (counts.get(c) as number) + 1);
    left--;
  }
  if ((counts.get("dub") as number) === 0) {
    const donor = [...counts.entries()].sort((p, q) => q[1] - p[1])[0] as [string, number];
    counts.set(donor[0], donor[1] - 1);
    counts.set("dub", 1);
  }
  return [...counts.entries()].filter(([, k]) => k > 0);
}

export function worldMeshConfig(nodes: number, opts: WorldMeshOptions): Record<string, unknown> {
  const r = rng(opts.seed ?? 1);
  const natShare = opts.natShare ?? 0.1;
  const clouds = cloudRegionsBySite();
  const regions: Record<string, unknown> = {};
  const nodeMap: Record<string, unknown> = {};
  let hub = "";
  spreadOverSites(nodes).forEach(([site, count], i) => {
    const at = SHIPPED_SITES.get(site) as { lat: number; lon: number };
    const base = ((10 << 24) | ((64 + Math.floor(i / 64)) << 16) | ((i % 64) * 4) << 8) >>> 0;
    regions[site] = { subnet: `${formatIPv4(base)}/22`, area: areaOf(at.lat, at.lon) };
    const here = clouds.get(site) ?? [];
    for (let k = 0; k < count; k++) {
      const name = `${site}-${k}`;
      const isHub = hub === "" && site === "dub";
      if (isHub) hub = name;
      const perPop = opts.nodesPerPop ?? (opts.topology === "auto" ? AUTO_NODES_PER_POP : undefined);
      const pops = perPop ? Math.max(1, Math.ceil(count / perPop)) : 1;
      const routes = opts.routerMetros === undefined || i < opts.routerMetros || site === "dub";
      const role = isHub ? "hub" : k < pops && routes ? "pop" : "backend";
      const natted = role === "backend" && r() < natShare;
      const node: Record<string, unknown> = { role, region: site, site, address: formatIPv4(base + 1 + k) };
      const place = here.length > 0 && !natted ? here[(k + i) % here.length] : undefined;
      if (place?.cloud === "aws") Object.assign(node, { cloud: "aws", aws: { region: place.region } });
      else if (place?.cloud === "gcp") Object.assign(node, { cloud: "gcp", gcp: { zone: `${place.region}-${SHIPPED_REGIONS.gcpZones.get(place.region)?.[0] ?? "a"}` } });
      else if (place?.cloud === "azure") Object.assign(node, { cloud: "azure", azure: { location: place.region } });
      else Object.assign(node, { cloud: "external", external: natted ? {} : { endpoint: formatIPv4(0xc6120000 + i * 256 + k + 1) } });
      nodeMap[name] = node;
    }
  });
  return {
    overlay: "10.0.0.0/8",
    topology: opts.topology,
    hub,
    defaults: { gcp: { project: "wgmesh-bench" } },
    ...(opts.topology === "auto" && opts.maxStretch !== undefined ? { maxStretch: opts.maxStretch } : {}),
    ...(opts.topology === "auto" && opts.maxPeers !== undefined ? { maxPeers: opts.maxPeers } : {}),
    ...(opts.resilience ? { resilience: opts.resilience } : {}),
    regions,
    nodes: nodeMap,
  };
}
