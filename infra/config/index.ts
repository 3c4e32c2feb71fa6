/**
 * `wg-mesh:mesh` in, a validated MeshSpec out, or every problem at once as `path: message`.
 * Used by the CLI (from the YAML file) and by the stack program (from pulumi.Config).
 */
import type { z } from "zod";
import { MeshConfigError, type ConfigIssue, type MeshSpec } from "../model";
import { formatPath, issuesFromZod } from "./issues";
import { LatencyModel } from "../latency/model";
import { checkExtraRegions } from "./catalogue";
import { checkAutoSettings, checkLatency, nodeSite } from "./latency";
import { checkPlacement } from "./placement";
import {
  checkAddresses,
  checkAdminCidrs,
  checkEndpointDocumentation,
  checkEndpointOutsideOverlay,
  checkHub,
  checkKeepalive,
  checkLinks,
  checkNodeName,
  checkOverlay,
  checkPeerStacks,
  checkPops,
  checkTransit,
  checkRegionName,
  checkRegions,
  toNodeSpec,
  type ParsedNode,
} from "./semantics";
import { describeValue, meshSchema, nodeSchema, regionSchema, type RawMesh, type RawRegion } from "./schema";
import { readStackYaml } from "./yaml";
import { checkAccess } from "../access/check";

export const CONFIG_KEY = "wg-mesh:mesh";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Each top-level field on its own, so one bad field does not hide the values of the others. */
function topLevelFields(raw: Record<string, unknown>): Partial<RawMesh> {
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(meshSchema.shape)) {
    const r = schema.safeParse(raw[key]);
    if (r.success) out[key] = r.data;
  }
  return out as Partial<RawMesh>;
}

function entries(value: unknown): [string, unknown][] {
  return isPlainObject(value) ? Object.entries(value) : [];
}

/**
 * Validates the mesh declaration. Problems throw MeshConfigError, all at once; things that are
 * allowed but probably unwise (an admin range of millions of addresses) go to `warnings`, for
 * the caller to show without failing.
 */
export function parseMeshConfig(raw: unknown, warnings: ConfigIssue[] = []): MeshSpec {
  if (!isPlainObject(raw)) {
    throw new MeshConfigError([{ path: CONFIG_KEY, message: `must be a map with overlay, topology, hub, regions and nodes, not ${describeValue(raw)}` }]);
  }
  const issues: ConfigIssue[] = [];
  const whole = meshSchema.safeParse(raw);
  if (!whole.success) issues.push(...issuesFromZod(whole.error, meshSchema, ""));
  const top = topLevelFields(raw);

  const overlay = checkOverlay(top.overlay, issues);
  checkAdminCidrs(top.adminCidrs, top.widestAdminCidr, issues, warnings);
  checkPeerStacks(top.peerStacks, issues);

  const rawRegions: [string, RawRegion][] = [];
  for (const [name, value] of entries(raw.regions)) {
    // A bad name is reported once; its entry is not looked into, so no other line carries the name.
    if (!checkRegionName(name, issues)) continue;
    const r = regionSchema.safeParse(value);
    if (!r.success) issues.push(...issuesFromZod(r.error, regionSchema, `regions.${name}`));
    else rawRegions.push([name, r.data]);
  }
  const { regions, prefixes } = checkRegions(rawRegions, overlay, issues);

  // Sites and regions a node may name: the shipped ones, and the declaration's own.
  const latency = checkLatency(top.latency, issues);
  const model = new LatencyModel(latency);
  const catalogue = checkExtraRegions(top.extraRegions, (code) => model.knowsSite(code), () => model.siteCodes, issues);

  const allNames = entries(raw.nodes).map(([name]) => name);
  const nodes: ParsedNode[] = [];
  for (const [name, value] of entries(raw.nodes)) {
    if (!checkNodeName(name, issues)) continue;
    let r = nodeSchema.safeParse(value);
    if (!r.success) {
      issues.push(...issuesFromZod(r.error, nodeSchema, `nodes.${name}`));
      // A typo'd key is reported above; the node's other fields are still worth checking.
      r = nodeSchema.safeParse(withoutUnknownKeys(value, r.error));
      if (!r.success) continue;
    }
    const placement = checkPlacement(name, r.data, top.defaults, catalogue, issues);
    const site = nodeSite(name, r.data, placement, catalogue, model, issues);
    nodes.push({ name, raw: { ...r.data, site }, placement });
  }
  if (isPlainObject(raw.nodes) && allNames.length === 0) issues.push({ path: "nodes", message: "declare at least the hub" });
  if (isPlainObject(raw.regions) && rawRegions.length === 0 && entries(raw.regions).length === 0) issues.push({ path: "regions", message: "declare at least one region" });

  // Regions that failed to parse still exist for references, so a bad subnet is reported once, not again per node.
  const knownRegions = new Set(entries(raw.regions).map(([name]) => name));
  checkAddresses(nodes, overlay, prefixes, knownRegions, issues);
  const importsNodes = (top.peerStacks ?? []).length > 0;
  if (isPlainObject(raw.nodes)) checkHub(top.hub, nodes, allNames, importsNodes, issues, top.resilience === "node");
  checkPops(nodes, issues);
  checkTransit(top.transitRoles, top.hub, nodes, issues);
  checkKeepalive(top.persistentKeepalive, nodes, issues);
  checkEndpointOutsideOverlay(nodes, overlay, issues);
  checkEndpointDocumentation(nodes, warnings);
  const links = checkLinks(nodes, allNames, importsNodes, issues);
  checkAutoSettings(top, issues);
  if (top.failoverMaxStretch !== undefined && top.resilience !== "node") {
    issues.push({ path: "failoverMaxStretch", message: "only resilience: node has failover paths to bound; remove it or set resilience: node" });
  }
  // Access rules (infra/access): groups resolved over the nodes that parsed, with their regions' areas.
  const areaOf = new Map(rawRegions.map(([name, r]) => [name, r.area ?? name]));
  const accessNodes = nodes.map((n) => ({ name: n.name, role: n.raw.role, region: n.raw.region, area: areaOf.get(n.raw.region) ?? n.raw.region, cloud: n.raw.cloud, site: n.raw.site ?? "" }));
  const access = checkAccess(raw.access, { nodes: accessNodes, regions: [...knownRegions], importsNodes }, issues, warnings);

  if (issues.length > 0 || !whole.success) throw new MeshConfigError(dedupe(issues));
  const m = whole.data;
  return {
    overlay: m.overlay,
    listenPort: m.listenPort,
    persistentKeepalive: m.persistentKeepalive,
    mtu: m.mtu,
    topology: m.topology,
    hub: m.hub,
    keyEpoch: m.keyEpoch,
    rotationMargin: m.rotationMargin,
    presharedKeys: m.presharedKeys,
    adminCidrs: m.adminCidrs,
    peerStacks: m.peerStacks,
    regions,
    nodes: nodes.map((n) => toNodeSpec(n, links.get(n.name) ?? [])),
    ...(m.maxStretch !== undefined ? { maxStretch: m.maxStretch } : {}),
    ...(m.maxPeers !== undefined ? { maxPeers: m.maxPeers } : {}),
    ...(m.widestAdminCidr !== undefined ? { widestAdminCidr: m.widestAdminCidr } : {}),
    ...(m.transitRoles !== undefined ? { transitRoles: [...m.transitRoles] } : {}),
    ...(latency ? { latency } : {}),
    ...(m.resilience === "node" ? { resilience: "node" as const } : {}),
    ...(m.failoverMaxStretch !== undefined ? { failoverMaxStretch: m.failoverMaxStretch } : {}),
    ...(access ? { access } : {}),
  };
}

/** Pulumi writes encrypted values as { secure: <ciphertext> }; only the Pulumi CLI can read them. */
function holdsSecureValue(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(holdsSecureValue);
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return (keys.length === 1 && keys[0] === "secure") || Object.values(value).some(holdsSecureValue);
}

function withoutUnknownKeys(value: unknown, error: z.ZodError): unknown {
  const copy: unknown = structuredClone(value);
  for (const issue of error.issues) {
    if (issue.code !== "unrecognized_keys") continue;
    let at: unknown = copy;
    for (const segment of issue.path) at = isPlainObject(at) || Array.isArray(at) ? (at as Record<PropertyKey, unknown>)[segment as string] : undefined;
    if (isPlainObject(at)) for (const key of issue.keys) delete at[key];
  }
  return copy;
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * A Pulumi.<stack>.yaml file (its bytes, or its text): YAML problems with their line, then the
 * `wg-mesh:mesh` value validated. `file` names the file in messages; warnings (see
 * parseMeshConfig) are pushed to `warnings`.
 */
export function loadStackConfig(input: string | Uint8Array, file: string, warnings: ConfigIssue[] = []): MeshSpec {
  const data = readStackYaml(input, file);
  if (data === null || data === undefined) {
    throw new MeshConfigError([{ path: file, message: `is empty; a stack file is a map with config: ${CONFIG_KEY}: (see "Declaring a mesh" in the README)` }]);
  }
  if (!isPlainObject(data)) {
    throw new MeshConfigError([{ path: `${file}:1:1`, message: `is ${describeValue(data)}, not a map; a stack file is a map with config: ${CONFIG_KEY}: (see "Declaring a mesh" in the README)` }]);
  }
  const config = data.config;
  if (!isPlainObject(config) || !(CONFIG_KEY in config)) {
    throw new MeshConfigError([{ path: `${file}: config.${CONFIG_KEY}`, message: `is missing; declare the mesh under config: ${CONFIG_KEY}: (see the README)` }]);
  }
  const issues: ConfigIssue[] = [];
  for (const key of Object.keys(config)) {
    if (key.startsWith("wg-mesh:") && key !== CONFIG_KEY) issues.push({ path: formatPath("config", [key]), message: `unknown key; wg-mesh reads only ${CONFIG_KEY}` });
  }
  const mesh = config[CONFIG_KEY];
  if (holdsSecureValue(mesh)) {
    issues.push({ path: CONFIG_KEY, message: "holds a secure: value; the mesh declaration has no secrets (keys are generated), so write it in plain text" });
  }
  let spec: MeshSpec;
  try {
    spec = parseMeshConfig(mesh, warnings);
  } catch (err) {
    if (err instanceof MeshConfigError) throw new MeshConfigError([...issues, ...err.issues]);
    throw err;
  }
  if (issues.length > 0) throw new MeshConfigError(issues);
  return spec;
}

export { endpointProblem, isEndpointHost } from "./placement";
export { readStackYaml } from "./yaml";
