/**
 * Where a new node goes in a mesh's address plan (`wgmesh add-node`): its site, the region of the
 * plan it belongs to, and the next free address there; a new region with the next free subnet when
 * no region fits. Pure: the stack file's editing is workspace/stack-edit.ts.
 *
 * The region: the new node's area is that of the nearest node already in the mesh (by the latency
 * model's round trip between their sites); in that area, the regions holding only nodes of the new
 * node's role (prod's apac holds backends and apac-pop its POP), nearest first, and the first with a
 * free address. With none, a new region in that area, of the size its other regions have.
 */
import { formatIPv4, formatPrefix, overlaps, parsePrefix, type Prefix } from "./cidr";
import { UserError } from "./errors";
import { latencyModelFor } from "./latency/model";
import { SHIPPED_REGIONS } from "./latency/data";
import { siteOfPlacement } from "./latency/regions";
import type { Cloud, MeshSpec, RegionSpec, Role } from "./model";
import { quote } from "./quote";

export interface NodeRequest {
  name: string;
  cloud: Exclude<Cloud, "external">;
  /** The cloud's region (aws), location (azure) or zone (gcp). */
  region: string;
  role: Role;
  /** A site code; by default the catalogue's site of the cloud region. */
  site?: string;
  /** An address chosen by hand; by default the next free one of the right region. */
  address?: string;
}

export interface PlacedNode {
  name: string;
  role: Role;
  /** The address-plan region. */
  region: string;
  /** The site, and whether the catalogue gives it from the placement (so the file need not say it). */
  site: string;
  siteFromPlacement: boolean;
  address: string;
  cloud: Exclude<Cloud, "external">;
  placement: Record<string, string>;
  /** A region the plan gains for it. */
  newRegion?: RegionSpec;
}

function placementFor(req: NodeRequest): Record<string, string> {
  switch (req.cloud) {
    case "aws":
      return { region: req.region };
    case "azure":
      return { location: req.region };
    case "gcp":
      if (SHIPPED_REGIONS.gcp.has(req.region)) {
        const letters = SHIPPED_REGIONS.gcpZones.get(req.region) ?? ["b"];
        throw new UserError(`--region ${quote(req.region)}: a GCP node goes in a zone; give one of ${req.region}'s zones (${letters.map((l) => `${req.region}-${l}`).join(", ")})`);
      }
      return { zone: req.region };
  }
}

const hostsOf = (p: Prefix): number[] => {
  const size = 2 ** (32 - p.len);
  // A /31 or /32 has no network and broadcast address to keep free.
  return size <= 2 ? Array.from({ length: size }, (_, i) => p.base + i) : Array.from({ length: size - 2 }, (_, i) => p.base + 1 + i);
};

function prefix(text: string): Prefix {
  const p = parsePrefix(text);
  if (!p) throw new Error(`not a prefix: ${text}`);
  return p;
}

/** The next free subnet of `len` inside the overlay, clear of every region's. */
function freeSubnet(spec: MeshSpec, len: number): Prefix | undefined {
  const overlay = prefix(spec.overlay);
  if (len < overlay.len) return undefined;
  const taken = spec.regions.map((r) => prefix(r.subnet));
  const step = 2 ** (32 - len);
  for (let base = overlay.base; base < overlay.base + 2 ** (32 - overlay.len); base += step) {
    const candidate = { base, len };
    if (!taken.some((t) => overlaps(t, candidate))) return candidate;
  }
  return undefined;
}

export function placeNewNode(spec: MeshSpec, req: NodeRequest): PlacedNode {
  if (spec.nodes.some((n) => n.name === req.name)) throw new UserError(`nodes.${req.name}: the stack has a node of that name; choose another name`);
  const placement = placementFor(req);
  const model = latencyModelFor(spec);
  const fromCatalogue = siteOfPlacement({ cloud: req.cloud, [req.cloud]: placement });
  const site = req.site ?? fromCatalogue;
  if (site === undefined) {
    throw new UserError(`--region ${quote(req.region)}: not a region of ${req.cloud} in wg-mesh's catalogue (infra/latency/cloud-regions.json); check the name, or give --site CODE for its metro`);
  }
  if (!model.knowsSite(site)) throw new UserError(`--site ${quote(site)}: no such site in the shipped catalogue or this stack's latency.sites; use a metro code such as fra, or declare it under latency.sites`);
  const used = new Set(spec.nodes.map((n) => n.address));
  const base = { name: req.name, role: req.role, site, siteFromPlacement: req.site === undefined || req.site === fromCatalogue, cloud: req.cloud, placement };

  if (req.address !== undefined) {
    if (used.has(req.address)) {
      const owner = spec.nodes.find((n) => n.address === req.address)?.name;
      throw new UserError(`--address ${req.address}: node ${owner} has it; leave --address out for the next free one`);
    }
    const region = spec.regions.find((r) => prefix(r.subnet) && hostsOf(prefix(r.subnet)).some((h) => formatIPv4(h) === req.address));
    if (!region) throw new UserError(`--address ${quote(req.address)}: not a host address of any region (${spec.regions.map((r) => `${r.name} ${r.subnet}`).join(", ")}); leave --address out for the next free one`);
    return { ...base, region: region.name, address: req.address };
  }

  const rtt = (other: string): number => model.rttMs(site, other) ?? Number.POSITIVE_INFINITY;
  const nearest = [...spec.nodes].sort((a, b) => rtt(a.site) - rtt(b.site))[0];
  const regionOf = (name: string) => spec.regions.find((r) => r.name === name) as RegionSpec;
  const area = nearest ? regionOf(nearest.region).area : (spec.regions[0]?.area ?? "default");
  const nodesIn = (r: RegionSpec) => spec.nodes.filter((n) => n.region === r.name);
  const closeness = (r: RegionSpec) => Math.min(...nodesIn(r).map((n) => rtt(n.site)));
  const candidates = spec.regions.filter((r) => r.area === area && nodesIn(r).every((n) => n.role === req.role)).sort((a, b) => closeness(a) - closeness(b));
  for (const r of candidates) {
    const free = hostsOf(prefix(r.subnet)).find((h) => !used.has(formatIPv4(h)));
    if (free !== undefined) return { ...base, region: r.name, address: formatIPv4(free) };
  }

  // No region fits: a new one in the area, as large as the area's regions (the plan's, without any).
  const sizes = spec.regions.filter((r) => r.area === area).map((r) => prefix(r.subnet).len);
  const len = sizes.length > 0 ? Math.max(...sizes) : Math.max(...spec.regions.map((r) => prefix(r.subnet).len), 24);
  const subnet = freeSubnet(spec, len);
  const full = candidates.map((r) => `${r.name} (${r.subnet})`).join(", ");
  if (!subnet) {
    throw new UserError(
      `nodes.${req.name}: ${full ? `${full} ${candidates.length > 1 ? "have" : "has"} no free address, and ` : ""}overlay ${spec.overlay} has no room for another /${len} region; widen the overlay, or give --address in a region with room`,
    );
  }
  const stem = req.role === "backend" ? area : `${area}-${req.role}`;
  const taken = new Set(spec.regions.map((r) => r.name));
  let name = stem;
  for (let i = 2; taken.has(name); i++) name = `${stem}-${i}`;
  const newRegion = { name, subnet: formatPrefix(subnet), area };
  return { ...base, region: name, address: formatIPv4(hostsOf(subnet)[0] as number), newRegion };
}
