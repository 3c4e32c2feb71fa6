/**
 * Reading wg-quick files the way wg-quick and `wg setconf` read them: keys are
 * case-insensitive, everything from `#` on is a comment, Address/AllowedIPs take comma
 * lists and accumulate when repeated, PreUp/PostUp/PreDown/PostDown accumulate in order.
 * Where wg would silently take the last of two values we refuse instead, because a key
 * written twice is almost always a mistake someone wants to hear about.
 *
 * Every problem of a file is found in one pass (a bad line is skipped, the rest still read),
 * so a person fixes them all at once. Messages never echo anything that could be key material.
 */
import { parseCidr } from "../cidr";
import type { WgInterface, WgPeer, WgQuickConfig } from "../model";
import { quoteWg } from "../quote";
import { closest } from "../spelling";

/** `source:line: message`, one line, naming the fix. */
export class WgQuickParseError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${source}:${line}: ${detail}`);
    this.name = "WgQuickParseError";
  }
}

/** A file read as far as it could be, with every problem met on the way. */
export interface WgQuickParse {
  config: WgQuickConfig;
  problems: WgQuickParseError[];
}

/** Interface keys wg-quick or wg understand but the model keeps in `other`, by canonical spelling. */
export const OTHER_INTERFACE_KEYS = ["DNS", "Table", "SaveConfig", "FwMark"];
export const INTERFACE_KEYS = ["PrivateKey", "Address", "ListenPort", "MTU", "PreUp", "PostUp", "PreDown", "PostDown", ...OTHER_INTERFACE_KEYS];
export const PEER_KEYS = ["PublicKey", "PresharedKey", "Endpoint", "AllowedIPs", "PersistentKeepalive"];

interface PeerDraft {
  peer: WgPeer;
  headerLine: number;
  hasKeys: boolean;
  /** Comments right below `[Peer]`, as the seed's entrypoint.sh writes them. */
  commentBelow: string[];
  seen: Map<string, number>;
}

/** Thrown inside the line loop: the line is skipped and the problem recorded. */
class LineProblem {
  constructor(readonly error: WgQuickParseError) {}
}

function commentText(trimmedLine: string): string {
  return trimmedLine.replace(/^#\s*/, "").trimEnd();
}

/** A bare IP or CIDR; IPv6 is kept as written (the engine is IPv4, wg-quick is not). */
function isAddressLike(text: string): boolean {
  if (text.includes(":")) return /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(text);
  return parseCidr(text, true) !== undefined;
}

function commaList(value: string): string[] {
  return value
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

function parseInteger(value: string, min: number, max: number): number | undefined {
  if (!/^\d{1,6}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}

function emptyInterface(): WgInterface {
  return { addresses: [], postUp: [], postDown: [], preUp: [], preDown: [], other: new Map() };
}

/** "did you mean" for a key, looking at both sections' keys. */
function suggestion(key: string, section: "interface" | "peer"): string {
  const own = section === "interface" ? INTERFACE_KEYS : PEER_KEYS;
  const other = section === "interface" ? PEER_KEYS : INTERFACE_KEYS;
  const there = other.find((k) => k.toLowerCase() === key.toLowerCase());
  if (there) return `; ${there} belongs in ${section === "interface" ? "[Peer]" : "[Interface]"}`;
  const guess = closest(key, own);
  return guess ? `; did you mean ${guess}?` : `; ${section === "interface" ? "[Interface]" : "[Peer]"} takes ${own.join(", ")}`;
}

export function unknownInterfaceKeyHint(key: string): string {
  return suggestion(key, "interface");
}

/** The value as the message shows it: quoted, escaped, never anything that could be a key. */
const shown = (value: string): string => (value === "" ? "(empty)" : quoteWg(value));

export function parseWgQuickAll(text: string, source: string): WgQuickParse {
  const problems: WgQuickParseError[] = [];
  const fail = (line: number, detail: string): never => {
    throw new LineProblem(new WgQuickParseError(source, line, detail));
  };
  let iface: WgInterface | undefined;
  let interfaceLine = 0;
  const interfaceSeen = new Map<string, number>();
  const peers: WgPeer[] = [];
  let section: "none" | "interface" | "peer" | "skipped" = "none";
  let draft: PeerDraft | undefined;
  let commentAbove: string[] = [];

  const once = (seen: Map<string, number>, name: string, where: string, line: number): void => {
    const first = seen.get(name);
    if (first !== undefined) fail(line, `${name} is given twice in this ${where} (also on line ${first}); keep one`);
    seen.set(name, line);
  };

  const finishPeer = (): void => {
    if (!draft) return;
    const d = draft;
    draft = undefined;
    if (!d.peer.publicKey) {
      problems.push(new WgQuickParseError(source, d.headerLine, "[Peer] has no PublicKey; add PublicKey = <the peer's public key>"));
      return;
    }
    if (d.peer.comment === undefined && d.commentBelow.length > 0) d.peer.comment = d.commentBelow.join("\n");
    peers.push(d.peer);
  };

  const interfaceKey = (target: WgInterface, key: string, value: string, line: number): void => {
    const lower = key.toLowerCase();
    switch (lower) {
      case "privatekey":
        once(interfaceSeen, "PrivateKey", "[Interface]", line);
        if (!value) fail(line, "PrivateKey is empty; write the node's private key (wg genkey)");
        target.privateKey = value;
        return;
      case "address": {
        const items = commaList(value);
        const bad = items.find((a) => !isAddressLike(a));
        if (bad !== undefined) fail(line, `Address ${shown(bad)} is not an IP address or CIDR; write it like 10.50.5.1/24`);
        target.addresses.push(...items);
        return;
      }
      case "listenport": {
        once(interfaceSeen, "ListenPort", "[Interface]", line);
        const port = parseInteger(value, 0, 65535);
        if (port === undefined) fail(line, `ListenPort ${shown(value)} is not a UDP port; write a number 0-65535, e.g. 51820`);
        target.listenPort = port;
        return;
      }
      case "mtu": {
        once(interfaceSeen, "MTU", "[Interface]", line);
        const mtu = parseInteger(value, 68, 65535);
        if (mtu === undefined) fail(line, `MTU ${shown(value)} is not a usable MTU; write a number 68-65535, e.g. 1420, or remove it`);
        target.mtu = mtu;
        return;
      }
      case "preup":
        target.preUp.push(value);
        return;
      case "postup":
        target.postUp.push(value);
        return;
      case "predown":
        target.preDown.push(value);
        return;
      case "postdown":
        target.postDown.push(value);
        return;
      default: {
        // Kept, not refused: the simulator reports keys wg-quick would trip over.
        const name = OTHER_INTERFACE_KEYS.find((k) => k.toLowerCase() === lower) ?? key;
        const before = target.other.get(name);
        target.other.set(name, before === undefined ? value : `${before}, ${value}`);
      }
    }
  };

  const peerKey = (d: PeerDraft, key: string, value: string, line: number): void => {
    const p = d.peer;
    switch (key.toLowerCase()) {
      case "publickey":
        once(d.seen, "PublicKey", "[Peer]", line);
        if (!value) fail(line, "PublicKey is empty; write the peer's public key (wg pubkey)");
        p.publicKey = value;
        return;
      case "presharedkey":
        once(d.seen, "PresharedKey", "[Peer]", line);
        if (!value) fail(line, "PresharedKey is empty; write a key (wg genpsk) or remove the line");
        p.presharedKey = value;
        return;
      case "endpoint":
        once(d.seen, "Endpoint", "[Peer]", line);
        if (!/^(\[[^\]\s]+\]|[^\s:[\]]+):\d{1,5}$/.test(value)) fail(line, `Endpoint ${shown(value)} is not host:port; write it like 203.0.113.7:51820`);
        p.endpoint = value;
        return;
      case "allowedips": {
        const items = commaList(value);
        const bad = items.find((a) => !isAddressLike(a));
        if (bad !== undefined) fail(line, `AllowedIPs ${shown(bad)} is not a prefix; write it like 10.50.4.0/24`);
        p.allowedIps.push(...items);
        return;
      }
      case "persistentkeepalive": {
        once(d.seen, "PersistentKeepalive", "[Peer]", line);
        if (value.toLowerCase() === "off") return;
        const seconds = parseInteger(value, 0, 65535);
        if (seconds === undefined) fail(line, `PersistentKeepalive ${shown(value)} is not a number of seconds; write 1-65535 (e.g. 25) or off`);
        p.persistentKeepalive = seconds;
        return;
      }
      default:
        fail(line, `unknown key ${shown(key)} in [Peer]${suggestion(key, "peer")}`);
    }
  };

  const readLine = (raw: string, line: number): void => {
    const trimmed = raw.trim();
    if (trimmed === "") {
      commentAbove = [];
      if (draft && !draft.hasKeys) draft.commentBelow = [];
      return;
    }
    if (trimmed.startsWith("#")) {
      if (draft && !draft.hasKeys && commentAbove.length === 0) draft.commentBelow.push(commentText(trimmed));
      else commentAbove.push(commentText(trimmed));
      return;
    }
    const hash = raw.indexOf("#");
    const content = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (/[\p{Cc}\p{Cf}\u2028\u2029]/u.test(content.replace(/\t/g, ""))) {
      fail(line, `holds a control character (${shown(content)}); a wg-quick line is plain text: remove it`);
    }
    if (content.startsWith("[")) {
      finishPeer();
      const above = commentAbove;
      commentAbove = [];
      const m = /^\[\s*([A-Za-z]+)\s*\]$/.exec(content);
      const name = m?.[1]?.toLowerCase();
      if (name === "interface") {
        if (iface) {
          section = "skipped";
          fail(line, `a second [Interface] (the first is on line ${interfaceLine}); merge them into one`);
        }
        iface = emptyInterface();
        interfaceLine = line;
        section = "interface";
      } else if (name === "peer") {
        draft = { peer: { publicKey: "", allowedIps: [] }, headerLine: line, hasKeys: false, commentBelow: [], seen: new Map() };
        if (above.length > 0) draft.peer.comment = above.join("\n");
        section = "peer";
      } else {
        section = "skipped";
        fail(line, `unknown section ${shown(content)}; a wg-quick file has one [Interface] and any number of [Peer]`);
      }
      return;
    }
    commentAbove = [];
    const eq = content.indexOf("=");
    const key = eq > 0 ? content.slice(0, eq).trim() : "";
    if (!/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(key)) fail(line, `${shown(content)} is not a "Key = value" line; fix it or comment it out with #`);
    const value = content.slice(eq + 1).trim();
    if (section === "interface") interfaceKey(iface as WgInterface, key, value, line);
    else if (section === "peer") {
      const d = draft as PeerDraft;
      d.hasKeys = true;
      peerKey(d, key, value, line);
    } else if (section === "none") fail(line, `${shown(key)} comes before any section; put it under [Interface] or [Peer]`);
    // In a section already reported as unknown, its lines are not reported again.
  };

  text.split(/\r?\n/).forEach((raw, i) => {
    try {
      readLine(raw, i + 1);
    } catch (err) {
      if (!(err instanceof LineProblem)) throw err;
      problems.push(err.error);
    }
  });
  finishPeer();
  if (!iface) problems.push(new WgQuickParseError(source, 1, "no [Interface] section; a wg-quick file starts with [Interface] and its PrivateKey and Address"));
  problems.sort((a, b) => a.line - b.line);
  return { config: { iface: iface ?? emptyInterface(), peers }, problems };
}

/** The file's config, or its first problem thrown (parseWgQuickAll gives every problem). */
export function parseWgQuick(text: string, source: string): WgQuickConfig {
  const { config, problems } = parseWgQuickAll(text, source);
  if (problems.length > 0) throw problems[0];
  return config;
}
