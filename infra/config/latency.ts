/**
 * The stack config's latency settings: `maxStretch` and `maxPeers` for topology auto, the
 * `latency` block (sites of one's own and measured round trips that override the model), and
 * each node's site, which may be left out for a cloud node and is then taken from its region.
 */
import { LatencyModel, type LatencySpec } from "../latency/model";
import { siteOfPlacement, type CloudCatalogue } from "../latency/regions";
import type { ConfigIssue } from "../model";
import { quote } from "../quote";
import { unknownGcpZone, unknownSiteMessage } from "./catalogue";
import { formatPath } from "./issues";
import type { Placement } from "./placement";
import type { RawMesh, RawNode } from "./schema";
import { checkSite, SITE_CODE } from "./semantics";

type RawLatency = NonNullable<RawMesh["latency"]>;

/** maxStretch and maxPeers only mean something to topology auto. */
export function checkAutoSettings(top: { topology?: string; maxStretch?: number; maxPeers?: number }, issues: ConfigIssue[]): void {
  if (top.topology === undefined || top.topology === "auto") return;
  for (const key of ["maxStretch", "maxPeers"] as const) {
    if (top[key] !== undefined) issues.push({ path: key, message: `only topology auto uses it, and the topology is ${top.topology}; remove it or set topology: auto` });
  }
}

/** The latency block as the model takes it; sites are checked, pairs named once. */
export function checkLatency(raw: RawLatency | undefined, issues: ConfigIssue[]): LatencySpec | undefined {
  if (raw === undefined) return undefined;
  const spec: LatencySpec = { sites: {}, rttMs: [] };
  const sites = new Map<string, { lat: number; lon: number }>();
  for (const [code, at] of Object.entries(raw.sites ?? {})) {
    if (!SITE_CODE.test(code)) issues.push({ path: formatPath("latency", ["sites", code]), message: "a site code is 2-16 of a-z, 0-9 and -, starting with a letter, such as fra" });
    else sites.set(code, at);
  }
  spec.sites = Object.fromEntries(sites);
  const model = new LatencyModel(spec);
  const seen = new Map<string, { path: string; ms: number }>();
  for (const [a, row] of Object.entries(raw.rttMs ?? {})) {
    for (const [b, ms] of Object.entries(row)) {
      const path = formatPath("latency", ["rttMs", a, b]);
      const unknown = [a, b].find((code) => !model.knowsSite(code));
      if (unknown !== undefined) {
        issues.push({ path, message: unknownSiteMessage(unknown, model.siteCodes) });
        continue;
      }
      const key = a < b ? `${a}|${b}` : `${b}|${a}`;
      const before = seen.get(key);
      if (before && before.ms !== ms) {
        issues.push({ path, message: `the round trip between ${a} and ${b} is also given at ${before.path} as ${before.ms}; give it once` });
        continue;
      }
      if (!before) {
        seen.set(key, { path, ms });
        spec.rttMs.push({ a, b, ms });
      }
    }
  }
  return spec;
}

/** Whether the node's region, zone or location is in the catalogue (when not, that key is what gets reported). */
function catalogued(cloud: string, placement: Placement, catalogue: CloudCatalogue): boolean {
  if (placement.aws) return catalogue.regions.aws.has(placement.aws.region);
  if (placement.azure) return catalogue.regions.azure.has(placement.azure.location);
  if (placement.gcp) return unknownGcpZone(placement.gcp.zone, catalogue) === undefined && catalogue.regions.gcp.has(placement.gcp.region);
  return cloud === "external";
}

/**
 * The node's site: as written (a site the latency model places: shipped, or declared under
 * latency.sites), or its cloud region's metro.
 */
export function nodeSite(name: string, raw: RawNode, placement: Placement, catalogue: CloudCatalogue, model: LatencyModel, issues: ConfigIssue[]): string | undefined {
  if (raw.site !== undefined) {
    if (checkSite(name, raw.site, issues) && !model.knowsSite(raw.site)) issues.push({ path: `nodes.${name}.site`, message: unknownSiteMessage(raw.site, model.siteCodes) });
    return raw.site;
  }
  const inferred = siteOfPlacement({ cloud: raw.cloud, ...placement }, catalogue);
  if (inferred) return inferred;
  if (raw.cloud === "external") {
    issues.push({ path: `nodes.${name}.site`, message: "is required for an external node: the location code of where it runs, such as fra" });
    return undefined;
  }
  // A region the catalogue does not list is reported at its own key; the site is not the mistake.
  if (!catalogued(raw.cloud, placement, catalogue)) return undefined;
  const where = placement.aws?.region ?? placement.gcp?.region ?? placement.azure?.location ?? "";
  const key = placement.azure ? `extraRegions.azure.${where}.site` : `extraRegions.${raw.cloud}.${where}.site`;
  issues.push({
    path: `nodes.${name}.site`,
    message: `is required: wg-mesh's catalogue does not place ${raw.cloud} ${placement.azure ? "location" : "region"} ${quote(where)} in a metro; write its site code here, or once in ${key}`,
  });
  return undefined;
}
