/**
 * What an access rule allows, as people write it (`tcp/443`, `udp/53-60`, `tcp`, `icmp`, `any`) and
 * as sets the simulator can intersect along a path. `icmp` means ICMP echo (ping); ICMP errors that
 * belong to a connection pass as conntrack's "related" traffic and need no rule. `any` is every
 * protocol, including those that are neither TCP, UDP nor ICMP echo.
 */

export type PortProtocol = "tcp" | "udp";

/** An inclusive port range. */
export interface PortRange {
  lo: number;
  hi: number;
}

/** One item of an `allow` list: ports of one protocol, ICMP echo, or every protocol. */
export type ServiceItem = { kind: "ports"; proto: PortProtocol; range: PortRange } | { kind: "icmp" } | { kind: "any" };

/** A union of services: per protocol, sorted disjoint port ranges; ICMP echo; everything else. */
export interface ServiceSet {
  tcp: PortRange[];
  udp: PortRange[];
  icmp: boolean;
  /** Protocols other than TCP, UDP and ICMP echo. */
  other: boolean;
}

export const MIN_PORT = 1;
export const MAX_PORT = 65535;
/** "tcp" alone: every port (0 included: a SYN to port 0 is still TCP). */
const ALL_PORTS: PortRange = { lo: 0, hi: MAX_PORT };

/** How to write an item, for messages. */
export const SERVICE_FORMS = "tcp/PORT, tcp/FIRST-LAST, udp/PORT, udp/FIRST-LAST, tcp, udp, icmp (echo) or any";

/** An item from its text, or why it cannot be one (a sentence fragment that names the fix). */
export function parseService(text: string): ServiceItem | { problem: string } {
  const t = text.trim().toLowerCase();
  if (t === "any") return { kind: "any" };
  if (t === "icmp") return { kind: "icmp" };
  if (t.startsWith("icmp/")) return { problem: "takes no port: write icmp (it allows ICMP echo, ping)" };
  if (t === "tcp" || t === "udp") return { kind: "ports", proto: t, range: { ...ALL_PORTS } };
  const m = /^(tcp|udp)\/(\d{1,6})(?:-(\d{1,6}))?$/.exec(t);
  if (!m) {
    const proto = t.split("/")[0] ?? "";
    if (proto !== "tcp" && proto !== "udp") return { problem: `is not a protocol wg-mesh filters; write ${SERVICE_FORMS}` };
    return { problem: `is not a port or range; write ${proto}/443 or ${proto}/8000-8100` };
  }
  const proto = m[1] as PortProtocol;
  const lo = Number(m[2]);
  const hi = m[3] === undefined ? lo : Number(m[3]);
  for (const p of [lo, hi]) {
    if (p < MIN_PORT || p > MAX_PORT) return { problem: `port ${p} is out of range: ports are ${MIN_PORT} to ${MAX_PORT}` };
  }
  if (hi < lo) return { problem: `the range runs backwards; write ${proto}/${hi}-${lo}` };
  return { kind: "ports", proto, range: { lo, hi } };
}

export function isPortItem(item: ServiceItem): item is Extract<ServiceItem, { kind: "ports" }> {
  return item.kind === "ports";
}

export function formatRange(r: PortRange): string {
  return r.lo === r.hi ? String(r.lo) : `${r.lo}-${r.hi}`;
}

export function isAllPorts(r: PortRange): boolean {
  return r.lo <= 0 && r.hi >= MAX_PORT;
}

export function formatService(item: ServiceItem): string {
  switch (item.kind) {
    case "any":
      return "any";
    case "icmp":
      return "icmp";
    case "ports":
      return isAllPorts(item.range) ? item.proto : `${item.proto}/${formatRange(item.range)}`;
  }
}

export function emptySet(): ServiceSet {
  return { tcp: [], udp: [], icmp: false, other: false };
}

export function everything(): ServiceSet {
  return { tcp: [{ ...ALL_PORTS }], udp: [{ ...ALL_PORTS }], icmp: true, other: true };
}

export function setOf(items: readonly ServiceItem[]): ServiceSet {
  let s = emptySet();
  for (const item of items) s = union(s, itemSet(item));
  return s;
}

function itemSet(item: ServiceItem): ServiceSet {
  switch (item.kind) {
    case "any":
      return everything();
    case "icmp":
      return { ...emptySet(), icmp: true };
    case "ports":
      return { ...emptySet(), [item.proto]: [{ ...item.range }] };
  }
}

function normalize(ranges: PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.lo - b.lo);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.lo <= last.hi + 1) last.hi = Math.max(last.hi, r.hi);
    else out.push({ ...r });
  }
  return out;
}

function intersectRanges(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  const out: PortRange[] = [];
  for (const x of a) for (const y of b) {
    const lo = Math.max(x.lo, y.lo);
    const hi = Math.min(x.hi, y.hi);
    if (lo <= hi) out.push({ lo, hi });
  }
  return normalize(out);
}

function subtractRanges(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  let out = a.map((r) => ({ ...r }));
  for (const y of b) {
    out = out.flatMap((x) => {
      if (y.hi < x.lo || y.lo > x.hi) return [x];
      const parts: PortRange[] = [];
      if (y.lo > x.lo) parts.push({ lo: x.lo, hi: y.lo - 1 });
      if (y.hi < x.hi) parts.push({ lo: y.hi + 1, hi: x.hi });
      return parts;
    });
  }
  return out;
}

export function union(a: ServiceSet, b: ServiceSet): ServiceSet {
  return { tcp: normalize([...a.tcp, ...b.tcp]), udp: normalize([...a.udp, ...b.udp]), icmp: a.icmp || b.icmp, other: a.other || b.other };
}

export function intersect(a: ServiceSet, b: ServiceSet): ServiceSet {
  return { tcp: intersectRanges(a.tcp, b.tcp), udp: intersectRanges(a.udp, b.udp), icmp: a.icmp && b.icmp, other: a.other && b.other };
}

export function subtract(a: ServiceSet, b: ServiceSet): ServiceSet {
  return { tcp: subtractRanges(a.tcp, b.tcp), udp: subtractRanges(a.udp, b.udp), icmp: a.icmp && !b.icmp, other: a.other && !b.other };
}

export function isEmpty(s: ServiceSet): boolean {
  return s.tcp.length === 0 && s.udp.length === 0 && !s.icmp && !s.other;
}

export function sameSet(a: ServiceSet, b: ServiceSet): boolean {
  return isEmpty(subtract(a, b)) && isEmpty(subtract(b, a));
}

/** Whether every flow of `inner` is in `outer`. */
export function covers(outer: ServiceSet, inner: ServiceSet): boolean {
  return isEmpty(subtract(inner, outer));
}

/** Ports of one protocol in words: "tcp", "tcp/443", "tcp/8000-8100", or "tcp except 22" when that is shorter. */
function portParts(proto: PortProtocol, ranges: readonly PortRange[]): { text: string; ranges: PortRange[] }[] {
  if (ranges.length === 0) return [];
  if (ranges.length === 1 && isAllPorts(ranges[0] as PortRange)) return [{ text: proto, ranges: [{ ...ALL_PORTS }] }];
  const count = ranges.reduce((n, r) => n + r.hi - r.lo + 1, 0);
  // Port 0 is no service anyone runs: left out of what is said to be missing.
  const missing = subtractRanges([{ lo: MIN_PORT, hi: MAX_PORT }], ranges);
  if (count > MAX_PORT / 2 && missing.length < ranges.length + 1) return [{ text: `${proto} except ${missing.map(formatRange).join(", ")}`, ranges: ranges.map((r) => ({ ...r })) }];
  return ranges.map((r) => ({ text: `${proto}/${formatRange(r)}`, ranges: [{ ...r }] }));
}

/** The set as items, in a fixed order: tcp ports, udp ports, icmp, then "other protocols" (or just "any"). */
export function setItems(s: ServiceSet): string[] {
  return setParts(s).map((p) => p.text);
}

export function formatSet(s: ServiceSet): string {
  const items = setItems(s);
  return items.length === 0 ? "nothing" : items.join(", ");
}

/** One concrete flow's protocol and port, as a probe sends it. */
export type Probe = { proto: PortProtocol; port: number } | { proto: "icmp" } | { proto: "other"; number: number };

export function probeSet(p: Probe): ServiceSet {
  switch (p.proto) {
    case "icmp":
      return { ...emptySet(), icmp: true };
    case "other":
      return { ...emptySet(), other: true };
    default:
      return { ...emptySet(), [p.proto]: [{ lo: p.port, hi: p.port }] };
  }
}

export function formatProbe(p: Probe): string {
  switch (p.proto) {
    case "icmp":
      return "icmp";
    case "other":
      return `protocol ${p.number}`;
    default:
      return `${p.proto}/${p.port}`;
  }
}

export function allows(s: ServiceSet, p: Probe): boolean {
  return covers(s, probeSet(p));
}

/** The set's items (as setItems writes them), each with the set it stands for. */
export function setParts(s: ServiceSet): { text: string; set: ServiceSet }[] {
  const full = (r: readonly PortRange[]) => r.length === 1 && isAllPorts(r[0] as PortRange);
  if (s.icmp && s.other && full(s.tcp) && full(s.udp)) return [{ text: "any", set: everything() }];
  const ports = (proto: PortProtocol) => portParts(proto, s[proto]).map((p) => ({ text: p.text, set: { ...emptySet(), [proto]: p.ranges } }));
  return [
    ...ports("tcp"),
    ...ports("udp"),
    ...(s.icmp ? [{ text: "icmp", set: { ...emptySet(), icmp: true } }] : []),
    ...(s.other ? [{ text: "other protocols", set: { ...emptySet(), other: true } }] : []),
  ];
}

/** A concrete flow inside a non-empty set: its first port, ICMP echo, or protocol 47 (GRE) for the rest. */
export function probeIn(s: ServiceSet): Probe | undefined {
  const t = s.tcp[0];
  if (t) return { proto: "tcp", port: Math.max(t.lo, MIN_PORT) };
  const u = s.udp[0];
  if (u) return { proto: "udp", port: Math.max(u.lo, MIN_PORT) };
  if (s.icmp) return { proto: "icmp" };
  if (s.other) return { proto: "other", number: 47 };
  return undefined;
}
