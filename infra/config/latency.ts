/**
 * The stack config's latency settings: `maxStretch` and `maxPeers` for topology auto, the
 * `latency` block (sites of one's own and measured round trips that override the model), and
 * each node's site, which may be left out for a cloud node and is then taken from its region.
 */
import { LatencyModel, type LatencySpec } from "../latency/model";
import { siteOfPlacement } from "../latency/regions";
import type { ConfigIssue } from "../model";
import { quote } from "../quote";
import { closest, formatPath } from "./issues";
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
        const guess = closest(unknown, model.siteCodes);
        issues.push({ path, message: `unknown site ${quote(unknown)}; ${guess ? `did you mean ${guess}? or ` : ""}declare it under latency.sites with its lat and lon` });
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

/** The node's site: as written, or its cloud region's metro. */
export function nodeSite(name: string, raw: RawNode, placement: Placement, issues: ConfigIssue[]): string | undefined {
  if (raw.site !== undefined) {
    checkSite(name, raw.site, issues);
    return raw.site;
  }
  const inferred = siteOfPlacement({ cloud: raw.cloud, ...placement });
  if (inferred) return inferred;
  const where = placement.aws?.region ?? placement.gcp?.region ?? placement.azure?.location;
  issues.push({
    path: `nodes.${name}.site`,
    message:
      raw.cloud === "external"
        ? "is required for an external node: the location code of where it runs, such as fra"
        : `is required: wg-mesh does not know which metro ${raw.cloud} region ${quote(where ?? "")} is in; write its location code, such as fra`,
  });
  return undefined;
}

/** topology auto plans from round trips: every node's site must be placeable. */
export function checkSitesPlaceable(topology: string | undefined, nodes: readonly { name: string; site: string | undefined }[], latency: LatencySpec | undefined, issues: ConfigIssue[]): void {
  if (topology !== "auto") return;
  const model = new LatencyModel(latency);
  for (const n of nodes) {
    if (n.site === undefined || model.knowsSite(n.site)) continue;
    const guess = closest(n.site, model.siteCodes);
    issues.push({
      path: `nodes.${n.name}.site`,
      message: `topology auto needs to know where ${quote(n.site)} is; ${guess ? `did you mean ${guess}? or ` : ""}declare it under latency.sites with its lat and lon`,
    });
  }
}
