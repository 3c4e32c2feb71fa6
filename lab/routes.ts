/**
 * Routes as wg-quick makes them (one per AllowedIPs prefix, on the WireGuard interface),
 * and the reconcile our sync unit does when a config changes on a running node: add what
 * is missing, delete what no AllowedIPs covers any more, never touch the kernel's route
 * for the interface Address.
 */
import { formatPrefix, parseCidr, prefixOf } from "../infra/cidr";
import type { WgQuickConfig } from "../infra/model";
import { routingTableOf } from "../infra/wgquick";

export interface InstalledRoute {
  prefix: string;
  /** Made by the kernel for an interface Address. */
  kernel: boolean;
}

export interface RouteChanges {
  add: string[];
  remove: string[];
}

/** "10.50.0.1/24" -> "10.50.0.0/24"; a bare address means /32; undefined for what is not IPv4. */
export function normalizePrefix(text: string): string | undefined {
  const c = parseCidr(text, true);
  return c ? formatPrefix(prefixOf(c.ip, c.len)) : undefined;
}

export interface WantedRoutes {
  prefixes: string[];
  /** The routing table wg-quick puts them in: undefined for the main table. */
  table?: string;
  /** What the lab does differently from a host, or what a person should know, in words. */
  notes: string[];
}

export function wantedRoutes(config: WgQuickConfig): WantedRoutes {
  const table = routingTableOf(config.iface);
  if (table === "off") return { prefixes: [], notes: [] };
  const prefixes = new Set<string>();
  const notes: string[] = [];
  for (const peer of config.peers) {
    for (const allowed of peer.allowedIps) {
      const p = normalizePrefix(allowed);
      if (p) prefixes.add(p);
      else notes.push(`AllowedIPs ${allowed} not routed: the lab's overlay is IPv4`);
    }
  }
  if (table !== "main") {
    notes.push(`Table = ${table}: its routes go to table ${table}, as wg-quick puts them, and no rule sends traffic there`);
    return { prefixes: [...prefixes], table, notes };
  }
  return { prefixes: [...prefixes], notes };
}

/** Parses `ip -4 route show dev IFACE`. */
export function parseRouteShow(text: string): InstalledRoute[] {
  const routes: InstalledRoute[] = [];
  for (const line of text.split("\n")) {
    const words = line.trim().split(/\s+/);
    const dest = words[0];
    if (!dest) continue;
    const prefix = dest === "default" ? "0.0.0.0/0" : normalizePrefix(dest);
    if (!prefix) continue;
    const proto = words.indexOf("proto");
    routes.push({ prefix, kernel: proto >= 0 && words[proto + 1] === "kernel" });
  }
  return routes;
}

export function routeChanges(installed: InstalledRoute[], wanted: string[]): RouteChanges {
  const have = new Set(installed.map((r) => r.prefix));
  const want = new Set(wanted);
  return {
    add: wanted.filter((p) => !have.has(p)),
    remove: installed.filter((r) => !r.kernel && !want.has(r.prefix)).map((r) => r.prefix),
  };
}
