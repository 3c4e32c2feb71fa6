/**
 * Who may send to a node's WireGuard port. WireGuard answers only packets sealed with a peer's
 * key, so the port is safe to open, but a firewall that admits only the peers keeps scans and
 * floods off the VM. That works while every peer sends from a fixed address; a peer behind NAT
 * (or known only by a DNS name) can come from anywhere, and then only the world will do.
 */
import { parseIPv4 } from "./cidr";
import type { Cloud, MeshPlan } from "./model";

export const ANYWHERE = "0.0.0.0/0";

/** How the three clouds' firewalls spell "anyone": CIDRs, AWS and GCP; "*", "Internet" and "Any", Azure's NSG tags. */
const WORLD_SOURCES: ReadonlySet<string> = new Set([ANYWHERE, "::/0", "*", "internet", "any"]);

/** Whether a firewall rule's source admits the whole internet. */
export function isWorldSource(source: string): boolean {
  return WORLD_SOURCES.has(source.toLowerCase());
}

export interface WireguardSources {
  /** CIDRs for the rule: each peer's /32, or ANYWHERE; empty when the node has no peer. */
  cidrs: string[];
  /** Why the port is open to the world, for people; undefined when it is not. */
  openBecause?: string;
}

/**
 * Most addresses one rule should list before opening up instead: an AWS security group holds
 * 60 inbound rules by default (each CIDR is one, SSH sources included).
 */
export function sourceLimit(cloud: Cloud, adminCidrs: readonly string[]): number {
  switch (cloud) {
    case "aws":
      return Math.max(1, 55 - adminCidrs.length);
    case "gcp":
      return 256;
    case "azure":
      return 1000;
    case "external":
      return Infinity;
  }
}

/** The host part of an endpoint as written in config ("host" or "host:port"). */
export function endpointHost(endpoint: string): string {
  return endpoint.replace(/:\d+$/, "");
}

/** A peer as the firewall sees it: where it sends from, if that is known in advance. */
export interface PeerSource {
  name: string;
  /** The peer's Endpoint ("host:port" or host); absent when it dials in from behind NAT. */
  endpoint?: string;
}

/**
 * The WireGuard port's sources for a node with these peers: each peer's IP as /32, or the world
 * when a peer can send from anywhere (behind NAT, or known only by a name) or when there are more
 * peers than one rule should hold.
 */
export function sourcesFromPeers(peers: readonly PeerSource[], limit = Infinity): WireguardSources {
  const cidrs = new Set<string>();
  for (const peer of peers) {
    if (peer.endpoint === undefined) return { cidrs: [ANYWHERE], openBecause: `${peer.name} dials in from behind NAT` };
    const ip = endpointHost(peer.endpoint).replace(/^\[|\]$/g, "");
    if (parseIPv4(ip) === undefined) return { cidrs: [ANYWHERE], openBecause: `${peer.name}'s endpoint ${ip} is a name, not a fixed address` };
    cidrs.add(`${ip}/32`);
  }
  if (cidrs.size > limit) return { cidrs: [ANYWHERE], openBecause: `${cidrs.size} peers are more addresses than one rule should hold (${limit})` };
  return { cidrs: [...cidrs].sort() };
}

/**
 * `endpoints` maps every node with a public endpoint to its host (a cloud node's public IP,
 * an external node's declared endpoint); nodes missing from it dial in from behind NAT.
 */
export function wireguardSources(plan: MeshPlan, nodeName: string, endpoints: Readonly<Record<string, string>>, limit = Infinity): WireguardSources {
  const node = plan.nodes.find((n) => n.name === nodeName);
  if (!node) throw new Error(`no node named ${nodeName} in the plan`);
  const peers = node.peers.map((peer) => {
    const planned = plan.nodes.find((n) => n.name === peer.name);
    const host = planned?.hasPublicEndpoint ? endpoints[peer.name] : undefined;
    return host === undefined ? { name: peer.name } : { name: peer.name, endpoint: host };
  });
  return sourcesFromPeers(peers, limit);
}
