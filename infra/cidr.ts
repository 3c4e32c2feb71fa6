/**
 * IPv4 addresses and prefixes as unsigned 32-bit numbers. Small and exact on purpose:
 * routing correctness rests on these few operations, and they are tested directly.
 */

export interface Prefix {
  /** Network address (host bits zero), unsigned. */
  base: number;
  len: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Exactly "a.b.c.d": no spaces or other characters around it (a tab there once reached a rendered Address). */
export function parseIPv4(text: string): number | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = m[i] as string;
    if (octet.length > 1 && octet.startsWith("0")) return undefined;
    const n = Number(octet);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

export function formatIPv4(value: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(value / 2 ** s) % 256).join(".");
}

export function mask(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

export function networkOf(ip: number, len: number): number {
  return (ip & mask(len)) >>> 0;
}

export interface ParsedCidr {
  ip: number;
  len: number;
  /** True when host bits are set (10.50.5.1/24): fine for an Address, not for a prefix. */
  hostBitsSet: boolean;
}

/** "a.b.c.d/n"; with `allowBare`, "a.b.c.d" means /32. */
export function parseCidr(text: string, allowBare = false): ParsedCidr | undefined {
  const t = text;
  const slash = t.indexOf("/");
  if (slash < 0) {
    if (!allowBare) return undefined;
    const ip = parseIPv4(t);
    return ip === undefined ? undefined : { ip, len: 32, hostBitsSet: false };
  }
  const ip = parseIPv4(t.slice(0, slash));
  const lenText = t.slice(slash + 1);
  if (ip === undefined || !/^\d{1,2}$/.test(lenText)) return undefined;
  const len = Number(lenText);
  if (len > 32) return undefined;
  return { ip, len, hostBitsSet: networkOf(ip, len) !== ip };
}

/** A strict prefix: host bits must be zero. */
export function parsePrefix(text: string): Prefix | undefined {
  const c = parseCidr(text, true);
  if (!c || c.hostBitsSet) return undefined;
  return { base: c.ip, len: c.len };
}

export function prefixOf(ip: number, len: number): Prefix {
  return { base: networkOf(ip, len), len };
}

export function formatPrefix(p: Prefix): string {
  return `${formatIPv4(p.base)}/${p.len}`;
}

export function containsIp(p: Prefix, ip: number): boolean {
  return networkOf(ip, p.len) === p.base;
}

/** True when `outer` covers all of `inner`. */
export function containsPrefix(outer: Prefix, inner: Prefix): boolean {
  return outer.len <= inner.len && networkOf(inner.base, outer.len) === outer.base;
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  return containsPrefix(a, b) || containsPrefix(b, a);
}

export function comparePrefixes(a: Prefix, b: Prefix): number {
  return a.base - b.base || a.len - b.len;
}

/** Ranges that are never a mesh's: "this network", loopback, link-local (the clouds' metadata service), multicast, reserved. */
export const RESERVED_RANGES: readonly { prefix: string; what: string }[] = [
  { prefix: "0.0.0.0/8", what: "\"this network\" (0.0.0.0/8)" },
  { prefix: "127.0.0.0/8", what: "loopback (127.0.0.0/8)" },
  { prefix: "169.254.0.0/16", what: "link-local (169.254.0.0/16, where the clouds' metadata service lives)" },
  { prefix: "224.0.0.0/4", what: "multicast (224.0.0.0/4)" },
  { prefix: "240.0.0.0/4", what: "reserved (240.0.0.0/4, broadcast included)" },
];

/**
 * Ranges set aside for examples in documentation (RFC 5737): no real host has an address there,
 * so a firewall rule for one admits nobody and an Endpoint in one is never answered. (IPv6's,
 * 2001:db8::/32 of RFC 3849, is refused with every IPv6 value: wg-mesh's addresses are IPv4.)
 */
export const DOCUMENTATION_RANGES: readonly { prefix: string; what: string }[] = [
  { prefix: "192.0.2.0/24", what: "TEST-NET-1 (192.0.2.0/24, RFC 5737)" },
  { prefix: "198.51.100.0/24", what: "TEST-NET-2 (198.51.100.0/24, RFC 5737)" },
  { prefix: "203.0.113.0/24", what: "TEST-NET-3 (203.0.113.0/24, RFC 5737)" },
];

/** The documentation range a prefix overlaps, if any. */
export function documentationRangeOf(p: Prefix): string | undefined {
  return DOCUMENTATION_RANGES.find((r) => overlaps(p, parsePrefix(r.prefix) as Prefix))?.what;
}

/** RFC 3849's documentation prefix, as people write it: said when an IPv6 value is refused. */
export function isIPv6Documentation(text: string): boolean {
  return /^2001:0?db8(:|$)/i.test(text.trim());
}

/** The reserved range a prefix overlaps, if any. */
export function reservedRangeOf(p: Prefix): string | undefined {
  return RESERVED_RANGES.find((r) => overlaps(p, parsePrefix(r.prefix) as Prefix))?.what;
}

/** Addresses covered by the union of the prefixes (overlaps counted once). */
export function unionSize(prefixes: readonly Prefix[]): number {
  const ranges = prefixes.map((p) => [p.base, p.base + sizeOf(p)] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -1;
  for (const [lo, hi] of ranges) {
    if (hi <= end) continue;
    total += hi - Math.max(lo, end);
    end = hi;
  }
  return total;
}

/** Number of addresses in a prefix. */
export function sizeOf(p: Prefix): number {
  return 2 ** (32 - p.len);
}
