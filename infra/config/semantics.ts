/**
 * What the values mean together: addresses inside the overlay and their region, no
 * duplicates or overlaps, references to regions and nodes that exist, one hub, links that
 * can be made. Works on whatever parsed, so one bad entry does not hide the rest.
 */
import { containsIp, containsPrefix, documentationRangeOf, formatIPv4, formatPrefix, isIPv6Documentation, networkOf, overlaps, parseCidr, parseIPv4, reservedRangeOf, sizeOf, unionSize, type Prefix } from "../cidr";
import type { ConfigIssue, ExtraLinkSpec, NodeSpec, RegionSpec } from "../model";
import { quote } from "../quote";
import { entryPath } from "./issues";
import type { Placement } from "./placement";
import type { RawNode, RawRegion } from "./schema";

const NODE_NAME = /^[a-z]([a-z0-9-]{0,22}[a-z0-9])?$/;
const REGION_NAME = /^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/;
export const SITE_CODE = /^[a-z][a-z0-9-]{1,15}$/;
const STACK_NAME = /^([A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/;

export function checkNodeName(name: string, issues: ConfigIssue[]): boolean {
  if (NODE_NAME.test(name)) return true;
  issues.push({ path: entryPath("nodes", name), message: "a node name is 1-24 of a-z, 0-9 and -, starting with a letter (it names cloud resources); rename it" });
  return false;
}

export function checkRegionName(name: string, issues: ConfigIssue[]): boolean {
  if (REGION_NAME.test(name)) return true;
  issues.push({ path: entryPath("regions", name), message: "a region name is 1-40 of a-z, 0-9 and -, starting with a letter; rename it" });
  return false;
}

/** Names fit to show in a message listing what exists (badly named entries are reported on their own). */
function listed(names: Iterable<string>, valid: RegExp, none = "none"): string {
  const ok = [...names].filter((n) => valid.test(n));
  if (ok.length === 0) return none;
  return ok.length > 20 ? `${ok.slice(0, 20).join(", ")} and ${ok.length - 20} more` : ok.join(", ");
}

/** A strict prefix, or an issue saying how to write one. */
export function checkPrefix(text: string, path: string, what: string, issues: ConfigIssue[]): Prefix | undefined {
  const c = parseCidr(text);
  if (!c) {
    const bare = parseIPv4(text) !== undefined;
    issues.push({ path, message: bare ? `${quote(text)} has no prefix length; write ${what} as a CIDR such as ${text}/24` : `${quote(text)} is not an IPv4 CIDR; write ${what} like 10.50.0.0/16` });
    return undefined;
  }
  if (c.hostBitsSet) {
    issues.push({ path, message: `${quote(text)} has host bits set; the network is ${formatPrefix({ base: networkOf(c.ip, c.len), len: c.len })}` });
    return undefined;
  }
  return { base: c.ip, len: c.len };
}

export function checkOverlay(text: string | undefined, issues: ConfigIssue[]): Prefix | undefined {
  if (text === undefined) return undefined;
  const p = checkPrefix(text, "overlay", "the overlay", issues);
  if (!p) return undefined;
  if (p.len === 0) {
    issues.push({ path: "overlay", message: "0.0.0.0/0 is the whole internet: every packet would go into the tunnel; use a private range such as 10.50.0.0/16" });
    return undefined;
  }
  const reserved = reservedRangeOf(p);
  if (reserved) {
    issues.push({ path: "overlay", message: `${formatPrefix(p)} overlaps ${reserved}, which hosts and clouds use for themselves; use a private range such as 10.50.0.0/16 or 100.64.0.0/16` });
    return undefined;
  }
  if (p.len > 30) issues.push({ path: "overlay", message: `${formatPrefix(p)} holds too few addresses for a mesh; use /30 or shorter, such as /16` });
  return p;
}

export function checkRegions(raw: [string, RawRegion][], overlay: Prefix | undefined, issues: ConfigIssue[]): { regions: RegionSpec[]; prefixes: Map<string, Prefix> } {
  const regions: RegionSpec[] = [];
  const prefixes = new Map<string, Prefix>();
  for (const [name, r] of raw) {
    const path = `regions.${name}.subnet`;
    const p = checkPrefix(r.subnet, path, "a region subnet", issues);
    regions.push({ name, subnet: r.subnet, area: r.area ?? name });
    if (!p) continue;
    if (overlay && !containsPrefix(overlay, p)) {
      issues.push({ path, message: `${formatPrefix(p)} is outside the overlay ${formatPrefix(overlay)}; pick a subnet inside it or widen overlay` });
      continue;
    }
    for (const [other, q] of prefixes) {
      if (overlaps(p, q)) issues.push({ path, message: `${formatPrefix(p)} overlaps regions.${other}.subnet (${formatPrefix(q)}); region subnets must not overlap` });
    }
    prefixes.set(name, p);
  }
  return { regions, prefixes };
}

export interface ParsedNode {
  name: string;
  raw: RawNode;
  placement: Placement;
}

export function checkAddresses(nodes: ParsedNode[], overlay: Prefix | undefined, regionPrefixes: Map<string, Prefix>, knownRegions: Set<string>, issues: ConfigIssue[]): void {
  const owner = new Map<number, string>();
  for (const { name, raw } of nodes) {
    const at = `nodes.${name}`;
    if (!knownRegions.has(raw.region)) {
      issues.push({ path: `${at}.region`, message: `unknown region ${quote(raw.region)}; regions: ${listed(knownRegions, REGION_NAME, "(none declared)")}` });
    }
    const ip = parseIPv4(raw.address);
    if (ip === undefined) {
      const withPrefix = parseCidr(raw.address);
      issues.push({
        path: `${at}.address`,
        message: withPrefix ? `write the address without a prefix length (${formatIPv4(withPrefix.ip)}); it takes its region's` : `${quote(raw.address)} is not an IPv4 address; write it like 10.50.5.1`,
      });
      continue;
    }
    const region = regionPrefixes.get(raw.region);
    if (overlay && !containsIp(overlay, ip)) {
      issues.push({ path: `${at}.address`, message: `${raw.address} is outside the overlay ${formatPrefix(overlay)}` });
    } else if (region && !containsIp(region, ip)) {
      issues.push({ path: `${at}.address`, message: `${raw.address} is outside region ${raw.region} (${formatPrefix(region)})` });
    } else if (region && region.len <= 30 && (ip === region.base || ip === region.base + sizeOf(region) - 1)) {
      const which = ip === region.base ? "network" : "broadcast";
      issues.push({ path: `${at}.address`, message: `${raw.address} is the ${which} address of region ${raw.region} (${formatPrefix(region)}); pick a host address` });
    } else if (!overlay && reservedRangeOf({ base: ip, len: 32 })) {
      issues.push({ path: `${at}.address`, message: `${raw.address} is in ${reservedRangeOf({ base: ip, len: 32 }) as string}; overlay addresses come from a private range such as 10.50.0.0/16` });
    }
    const first = owner.get(ip);
    if (first !== undefined) issues.push({ path: `${at}.address`, message: `${raw.address} is also nodes.${first}.address; give each node its own address` });
    else owner.set(ip, name);
  }
}

/** `importsNodes`: peer stacks may hold the hub; mergePeerMeshes checks it once they are read. */
/** `severalHubs`: a resilient mesh may have more than one node with role hub; `hub` names the one spokes prefer. */
export function checkHub(hub: string | undefined, nodes: ParsedNode[], allNames: string[], importsNodes: boolean, issues: ConfigIssue[], severalHubs = false): void {
  if (hub === undefined) return;
  if (!allNames.includes(hub)) {
    if (importsNodes) return;
    issues.push({ path: "hub", message: `no node named ${quote(hub)}; name the node whose role is hub (nodes: ${listed(allNames, NODE_NAME)})` });
    return;
  }
  const hubNode = nodes.find((n) => n.name === hub);
  if (hubNode && hubNode.raw.role !== "hub") {
    issues.push({ path: "hub", message: `${hub} has role ${hubNode.raw.role}; set nodes.${hub}.role: hub or name the hub node here` });
    return;
  }
  if (hubNode?.raw.cloud === "external" && !hubNode.raw.external?.endpoint) {
    issues.push({ path: `nodes.${hub}.external.endpoint`, message: "the hub must be reachable: give it a public endpoint" });
  }
  if (severalHubs) return;
  for (const n of nodes) {
    if (n.raw.role === "hub" && n.name !== hub) {
      issues.push({ path: `nodes.${n.name}.role`, message: `the mesh has one hub, ${hub}; make ${n.name} a pop or backend, make it the hub, or set resilience: node (which allows several)` });
    }
  }
}

/** transitRoles: each role once, the hub's among them; a node's own transit: never on a node behind NAT, never false on the hub. */
export function checkTransit(roles: readonly string[] | undefined, hub: string | undefined, nodes: ParsedNode[], issues: ConfigIssue[]): void {
  if (roles !== undefined) {
    roles.forEach((r, i) => {
      if (roles.indexOf(r) !== i) issues.push({ path: `transitRoles[${i}]`, message: `${r} is listed twice; remove one` });
    });
    if (!roles.includes("hub")) issues.push({ path: "transitRoles", message: `must include hub: the hub carries its spokes' traffic in every topology; write [hub${roles.filter((r) => r !== "hub").map((r) => `, ${r}`).join("")}]` });
  }
  for (const n of nodes) {
    if (n.raw.transit === true && n.raw.cloud === "external" && !n.raw.external?.endpoint) {
      issues.push({ path: `nodes.${n.name}.transit`, message: "a node behind NAT never carries others' traffic (it is reachable only while its keepalives hold a mapping open); remove transit, or give it an endpoint" });
    }
    if (n.raw.transit === false && (n.name === hub || n.raw.role === "hub")) {
      issues.push({ path: `nodes.${n.name}.transit`, message: "the hub carries its spokes' traffic in every topology; remove transit: false" });
    }
  }
}

export function checkPops(nodes: ParsedNode[], issues: ConfigIssue[]): void {
  for (const n of nodes) {
    if (n.raw.role === "pop" && n.raw.cloud === "external" && !n.raw.external?.endpoint) {
      issues.push({ path: `nodes.${n.name}.external.endpoint`, message: "a pop is dialled by its backends, so it needs a public endpoint; add one or make the node a backend" });
    }
  }
}

export function checkKeepalive(keepalive: number | undefined, nodes: ParsedNode[], issues: ConfigIssue[]): void {
  if (keepalive !== 0) return;
  const natted = nodes.filter((n) => n.raw.cloud === "external" && !n.raw.external?.endpoint).map((n) => n.name);
  if (natted.length > 0) {
    issues.push({ path: "persistentKeepalive", message: `0 turns keepalives off, but ${natted.join(", ")} sit behind NAT and need them to stay reachable; set 25` });
  }
}

/** `importsNodes`: a link may name a node of a peer stack; mergePeerMeshes checks it once they are read. */
export function checkLinks(nodes: ParsedNode[], allNames: string[], importsNodes: boolean, issues: ConfigIssue[]): Map<string, ExtraLinkSpec[]> {
  const out = new Map<string, ExtraLinkSpec[]>();
  const declared = new Map<string, { path: string; weight: number | undefined }>();
  for (const { name, raw } of nodes) {
    const links: ExtraLinkSpec[] = [];
    (raw.links ?? []).forEach((entry, i) => {
      const link: ExtraLinkSpec = typeof entry === "string" ? { peer: entry } : { peer: entry.peer, ...(entry.weight !== undefined ? { weight: entry.weight } : {}) };
      const path = `nodes.${name}.links[${i}]`;
      if (!allNames.includes(link.peer)) {
        if (importsNodes && NODE_NAME.test(link.peer)) links.push(link);
        else if (importsNodes) issues.push({ path, message: `${quote(link.peer)} is not a node name; a node name is 1-24 of a-z, 0-9 and -` });
        else issues.push({ path, message: `unknown node ${quote(link.peer)}; nodes: ${listed(allNames, NODE_NAME)}` });
        return;
      }
      if (!NODE_NAME.test(link.peer)) return; // that node's own name is reported
      if (link.peer === name) {
        issues.push({ path, message: "a node cannot link to itself; remove it" });
        return;
      }
      const key = name < link.peer ? `${name}--${link.peer}` : `${link.peer}--${name}`;
      const before = declared.get(key);
      if (before && before.weight !== link.weight) {
        issues.push({ path, message: `the link ${name} -- ${link.peer} is also declared at ${before.path} with another weight; declare it once` });
        return;
      }
      if (before && before.path.startsWith(`nodes.${name}.`)) {
        issues.push({ path, message: `${link.peer} is listed twice; remove one` });
        return;
      }
      declared.set(key, { path, weight: link.weight });
      links.push(link);
    });
    out.set(name, links);
  }
  return out;
}

/** Above this many addresses (a /8) SSH is open to a good part of the internet: allowed, with a warning. */
export const ADMIN_CIDRS_WARN_ADDRESSES = 2 ** 24;
/** The widest admin range taken unless the declaration's widestAdminCidr says wider: a /16, 65,536 addresses. */
export const DEFAULT_WIDEST_ADMIN_CIDR = 16;

const addresses = (n: number): string => n.toLocaleString("en-US");
const shareOfIPv4 = (n: number): string => {
  const share = n / 2 ** 32;
  return share >= 0.01 ? `${Math.round(share * 100)}% of IPv4` : share >= 0.0001 ? `${(share * 100).toFixed(2)}% of IPv4` : "";
};

/**
 * SSH sources: CIDRs, none wider than `widest` (a prefix length the declaration may lower to open
 * a wider range on purpose), together short of the whole internet. A documentation range (RFC 5737)
 * is allowed with a warning: the rule it makes admits nobody.
 */
export function checkAdminCidrs(cidrs: string[] | undefined, widest: number | undefined, issues: ConfigIssue[], warnings: ConfigIssue[] = []): void {
  const limit = widest ?? DEFAULT_WIDEST_ADMIN_CIDR;
  const prefixes: Prefix[] = [];
  (cidrs ?? []).forEach((text, i) => {
    const path = `adminCidrs[${i}]`;
    if (isIPv6Documentation(text)) {
      issues.push({ path, message: `${quote(text)} is IPv6, and 2001:db8::/32 is reserved for documentation (RFC 3849): no real host has it; list your office or VPN's IPv4 ranges` });
      return;
    }
    const p = checkPrefix(text, path, "an admin CIDR", issues);
    if (!p) return;
    if (p.len === 0) {
      issues.push({ path, message: "0.0.0.0/0 opens SSH to the whole internet; list your office or VPN ranges, or leave adminCidrs empty for no SSH" });
      return;
    }
    if (p.len < limit) {
      const share = shareOfIPv4(sizeOf(p));
      issues.push({
        path,
        message:
          `${formatPrefix(p)} opens SSH (port 22 on every node) to ${addresses(sizeOf(p))} addresses${share ? `, ${share}` : ""}; ` +
          `admin ranges are at most /${limit} (${addresses(2 ** (32 - limit))} addresses): list your office or VPN ranges, or set widestAdminCidr: ${p.len} to open it on purpose`,
      });
      return;
    }
    const doc = documentationRangeOf(p);
    if (doc) {
      warnings.push({ path, message: `${formatPrefix(p)} is in ${doc}, kept for examples in documentation: no real host has such an address, so SSH admits nobody and the nodes' ssh hints will not connect; list your office or VPN range` });
    }
    prefixes.push(p);
  });
  if (prefixes.length === 0) return;
  const total = unionSize(prefixes);
  if (total >= 2 ** 32) {
    issues.push({ path: "adminCidrs", message: `together they cover the whole internet (${prefixes.map(formatPrefix).join(" + ")}), which opens SSH to everyone; list your office or VPN ranges, or leave adminCidrs empty for no SSH` });
  } else if (total >= ADMIN_CIDRS_WARN_ADDRESSES) {
    warnings.push({
      path: "adminCidrs",
      message: `admit ${addresses(total)} addresses (${shareOfIPv4(total) || "more than a /8"}) to SSH; list only your office or VPN ranges`,
    });
  }
}

/** An external node's Endpoint in a documentation range: allowed, with a warning (nobody answers there). */
export function checkEndpointDocumentation(nodes: ParsedNode[], warnings: ConfigIssue[]): void {
  for (const n of nodes) {
    const endpoint = n.placement.external?.endpoint;
    const ip = endpoint === undefined ? undefined : parseIPv4(endpoint);
    const doc = ip === undefined ? undefined : documentationRangeOf({ base: ip, len: 32 });
    if (doc) {
      warnings.push({ path: `nodes.${n.name}.external.endpoint`, message: `${endpoint as string} is in ${doc}, kept for examples in documentation: no real host has it, so its peers' handshakes will not be answered; give the node's public address` });
    }
  }
}

export function checkPeerStacks(stacks: string[] | undefined, issues: ConfigIssue[]): void {
  const seen = new Set<string>();
  (stacks ?? []).forEach((s, i) => {
    if (!STACK_NAME.test(s)) issues.push({ path: `peerStacks[${i}]`, message: `${quote(s)} is not a stack name; write org/project/stack, e.g. acme/wg-mesh/prod-apac` });
    else if (seen.has(s)) issues.push({ path: `peerStacks[${i}]`, message: `${quote(s)} is listed twice; remove one` });
    seen.add(s);
  });
}

/** False (with an issue) when the node's site is not shaped like a site code. */
export function checkSite(name: string, site: string, issues: ConfigIssue[]): boolean {
  if (SITE_CODE.test(site)) return true;
  issues.push({ path: `nodes.${name}.site`, message: `${quote(site)} is not a location code; write 2-16 of a-z, 0-9 and -, such as hkg` });
  return false;
}

export function checkEndpointOutsideOverlay(nodes: ParsedNode[], overlay: Prefix | undefined, issues: ConfigIssue[]): void {
  if (!overlay) return;
  for (const n of nodes) {
    const ip = n.placement.external?.endpoint ? parseIPv4(n.placement.external.endpoint) : undefined;
    if (ip !== undefined && containsIp(overlay, ip)) {
      issues.push({ path: `nodes.${n.name}.external.endpoint`, message: `${n.placement.external?.endpoint} is inside the overlay ${formatPrefix(overlay)}; the tunnel would route its own packets into itself: give the node's public address` });
    }
  }
}


export function toNodeSpec(n: ParsedNode, links: ExtraLinkSpec[]): NodeSpec {
  const { raw } = n;
  return {
    name: n.name,
    role: raw.role,
    region: raw.region,
    site: raw.site ?? "",
    address: raw.address,
    cloud: raw.cloud,
    ...n.placement,
    ...(raw.underlayMtu !== undefined ? { underlayMtu: raw.underlayMtu } : {}),
    ...(raw.transit !== undefined ? { transit: raw.transit } : {}),
    links,
  };
}
