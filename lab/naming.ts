/**
 * Names and underlay addresses of a lab. Everything a lab creates carries its id, so two
 * labs (or a lab and a stale one) never collide and cleanup can find its own leftovers.
 * /var/run/wireguard is shared by all namespaces, hence interface names unique machine-wide.
 */
import { randomBytes } from "node:crypto";
import { formatIPv4, parseIPv4 } from "../infra/cidr";

export const LAB_PREFIX = "wgl";
/** RFC 2544 benchmarking space: never routed on the internet, so a leak cannot reach anyone. */
export const UNDERLAY_PREFIX_LEN = 15;
export const UNDERLAY_GATEWAY = "198.18.0.1";
/** Where the WAN relay listens: a second address on the internet namespace's bridge. */
export const RELAY_ADDRESS = "198.18.0.2";
const FIRST_NODE_ADDRESS = parseIPv4("198.18.1.1") as number;
const UNDERLAY_LAST = parseIPv4("198.19.255.254") as number;
const IFNAMSIZ = 15;

/** The node namespace's side of its veth. */
export const UNDERLAY_IFACE = "underlay";
export const BRIDGE_IFACE = "internet";

export function newLabId(): string {
  return randomBytes(3).toString("hex");
}

export function isLabId(text: string): boolean {
  return /^[0-9a-f]{6}$/.test(text);
}

export function internetNamespace(labId: string): string {
  return `${LAB_PREFIX}-${labId}-internet`;
}

function namespaceSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 64);
}

/** Readable, so a user can `ip netns exec wgl-3fa2c1-hkg bash`; the index only when sanitizing made two names equal. */
export function nodeNamespace(labId: string, node: string, index: number, taken: ReadonlySet<string>): string {
  const plain = `${LAB_PREFIX}-${labId}-${namespaceSafe(node)}`;
  if (!taken.has(plain) && plain !== internetNamespace(labId)) return plain;
  return `${plain}-${index}`;
}

export function wgInterfaceName(labId: string, index: number): string {
  const name = `${LAB_PREFIX}${labId}n${index}`;
  if (name.length > IFNAMSIZ) throw new Error(`interface name ${name} is longer than ${IFNAMSIZ} characters`);
  return name;
}

/** Bridge port of a node's veth, inside the internet namespace (names there only need to be unique per lab). */
export function bridgePortName(index: number): string {
  return `v${index}`;
}

export function underlayAddress(index: number): string {
  const ip = FIRST_NODE_ADDRESS + index;
  if (ip > UNDERLAY_LAST) throw new Error(`the lab's underlay 198.18.0.0/15 has no room for node #${index}`);
  return formatIPv4(ip);
}
