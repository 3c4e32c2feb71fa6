/**
 * Each cloud's placement block: present for the node's own cloud, absent for the others,
 * with values in the shape that cloud's API accepts, and mesh-wide defaults filled in.
 */
import { parseIPv4, reservedRangeOf } from "../cidr";
import type { CloudCatalogue } from "../latency/regions";
import { quote } from "../quote";
import type { AwsPlacement, AzurePlacement, Cloud, ConfigIssue, ExternalPlacement, GcpPlacement, ResolvedGcpPlacement } from "../model";
import { unknownGcpZone, unknownRegion } from "./catalogue";
import { AWS_REGION, AZURE_LOCATION, GCP_PROJECT, GCP_REGION, GCP_ZONE, shapeProblem, type ShapedField } from "./cloud-shapes";
import type { RawMesh, RawNode } from "./schema";

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/i;

const BLOCKS = ["aws", "gcp", "azure", "external"] as const;

export interface Placement {
  aws?: AwsPlacement;
  gcp?: ResolvedGcpPlacement;
  azure?: AzurePlacement;
  external?: ExternalPlacement;
}

/**
 * Why a value cannot be an Endpoint host peers dial, or undefined when it can: an IPv4
 * address someone else can reach, or a DNS name, without a port. Loopback, "this network",
 * link-local, multicast, broadcast and reserved addresses only ever reach the dialler itself
 * or nobody.
 */
export function endpointProblem(host: string): string | undefined {
  const ip = parseIPv4(host);
  if (ip !== undefined) {
    if (ip === 0xffffffff) return "is the broadcast address; give the node's public address";
    const range = reservedRangeOf({ base: ip, len: 32 });
    return range ? `is in ${range}, which never reaches another machine; give the node's public address` : undefined;
  }
  if (/\s/.test(host)) return "holds spaces; give one host name or IPv4 address";
  if (!HOSTNAME.test(host)) return "is not a host name or IPv4 address";
  if (/(^|\.)localhost\.?$/i.test(host)) return "names this machine (localhost); give the node's public host name";
  return undefined;
}

/** True when the value is a usable Endpoint host: a reachable IPv4 address or a DNS name, without a port. */
export function isEndpointHost(host: string): boolean {
  return endpointProblem(host) === undefined;
}

/**
 * The node's placement with defaults filled in. Every value is checked: region, zone and location
 * against the catalogue (with `extraRegions`), the rest against its cloud's documented shape, each
 * at the key that holds it (the node's, or `defaults.<cloud>.<key>` for a default).
 */
export function checkPlacement(name: string, node: RawNode, defaults: RawMesh["defaults"], catalogue: CloudCatalogue, issues: ConfigIssue[]): Placement {
  const at = `nodes.${name}`;
  /** A value from the node's block or the mesh's defaults, shape-checked where it was written. */
  const shaped = <K extends string>(cloud: "aws" | "gcp" | "azure", key: K, own: string | undefined, fallback: string | undefined): string | undefined => {
    const value = own ?? fallback;
    if (value === undefined) return undefined;
    const problem = shapeProblem(`${cloud}.${key}` as ShapedField, value);
    if (problem) issues.push({ path: own !== undefined ? `${at}.${cloud}.${key}` : `defaults.${cloud}.${key}`, message: problem });
    return value;
  };
  for (const block of BLOCKS) {
    if (block !== node.cloud && node[block] !== undefined) {
      issues.push({ path: `${at}.${block}`, message: `the node's cloud is ${node.cloud}; remove the ${block} block or set cloud: ${block}` });
    }
  }
  const missing = (cloud: Cloud, example: string): Placement => {
    issues.push({ path: `${at}.${cloud}`, message: `is required for cloud ${cloud}: add ${cloud}: { ${example} }` });
    return {};
  };
  switch (node.cloud) {
    case "aws": {
      const p = node.aws;
      if (!p) return missing("aws", "region: eu-west-1");
      if (!AWS_REGION.test(p.region)) issues.push({ path: `${at}.aws.region`, message: `${quote(p.region)} is not an AWS region code; write it like eu-west-1` });
      else {
        const unknown = unknownRegion("aws", p.region, catalogue);
        if (unknown) issues.push({ path: `${at}.aws.region`, message: unknown });
      }
      const instanceType = shaped("aws", "instanceType", p.instanceType, defaults?.aws?.instanceType);
      for (const key of ["ami", "vpcId", "subnetId"] as const) shaped("aws", key, p[key], undefined);
      return { aws: { ...p, ...(instanceType ? { instanceType } : {}) } };
    }
    case "gcp": {
      const p = node.gcp;
      if (!p) return missing("gcp", "project: my-project, zone: asia-east2-a");
      const project = p.project ?? defaults?.gcp?.project;
      if (!project) issues.push({ path: `${at}.gcp.project`, message: "is required: the GCP project id; set it here or once in defaults.gcp.project" });
      else if (!GCP_PROJECT.test(project)) {
        issues.push({ path: p.project ? `${at}.gcp.project` : "defaults.gcp.project", message: `${quote(project)} is not a GCP project id (6-30 of a-z, 0-9 and -, starting with a letter)` });
      }
      const zoneRegion = GCP_ZONE.exec(p.zone)?.[1];
      if (!zoneRegion) issues.push({ path: `${at}.gcp.zone`, message: `${quote(p.zone)} is not a GCP zone; write it like asia-east2-a` });
      else {
        const unknown = unknownGcpZone(p.zone, catalogue);
        if (unknown) issues.push({ path: `${at}.gcp.zone`, message: unknown });
      }
      if (p.region !== undefined && !GCP_REGION.test(p.region)) {
        issues.push({ path: `${at}.gcp.region`, message: `${quote(p.region)} is not a GCP region; write it like asia-east2, or leave it out to take it from zone` });
      } else if (p.region !== undefined && zoneRegion && p.region !== zoneRegion) {
        issues.push({ path: `${at}.gcp.region`, message: `${quote(p.region)} does not match zone ${p.zone} (region ${zoneRegion}); leave region out to take it from zone` });
      }
      const fill = {
        machineType: shaped("gcp", "machineType", p.machineType, defaults?.gcp?.machineType),
        image: shaped("gcp", "image", p.image, defaults?.gcp?.image),
        network: shaped("gcp", "network", p.network, defaults?.gcp?.network),
      };
      shaped("gcp", "subnetwork", p.subnetwork, undefined);
      const optional = Object.fromEntries(Object.entries(fill).filter(([, v]) => v !== undefined)) as Partial<GcpPlacement>;
      return { gcp: { ...p, ...optional, project: project ?? "", region: p.region ?? zoneRegion ?? "", zone: p.zone } };
    }
    case "azure": {
      const p = node.azure;
      if (!p) return missing("azure", "location: uksouth");
      if (!AZURE_LOCATION.test(p.location)) {
        const suggestion = p.location.toLowerCase().replace(/[^a-z0-9]/g, "");
        issues.push({ path: `${at}.azure.location`, message: `${quote(p.location)} is not an Azure location name; write it like ${suggestion || "uksouth"} (lower case, no spaces)` });
      } else {
        const unknown = unknownRegion("azure", p.location, catalogue);
        if (unknown) issues.push({ path: `${at}.azure.location`, message: unknown });
      }
      const vmSize = shaped("azure", "vmSize", p.vmSize, defaults?.azure?.vmSize);
      const image = shaped("azure", "image", p.image, defaults?.azure?.image);
      shaped("azure", "subnetId", p.subnetId, undefined);
      return { azure: { ...p, ...(vmSize ? { vmSize } : {}), ...(image ? { image } : {}) } };
    }
    case "external": {
      const endpoint = node.external?.endpoint;
      const problem = endpoint === undefined ? undefined : endpointProblem(endpoint);
      if (endpoint !== undefined && problem !== undefined) {
        const hostOnly = /^(.+):(\d+)$/.exec(endpoint)?.[1];
        issues.push({
          path: `${at}.external.endpoint`,
          message: hostOnly && isEndpointHost(hostOnly) ? `give the host only (${quote(hostOnly)}); peers dial it at listenPort` : `${quote(endpoint)} ${problem}`,
        });
      }
      return { external: endpoint ? { endpoint } : {} };
    }
  }
}
