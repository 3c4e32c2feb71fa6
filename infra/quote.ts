/**
 * How a value someone wrote appears in a message wg-mesh prints: in double quotes, every
 * control or invisible formatting character escaped (so it can neither break the line nor
 * hide text, as a right-to-left override would), cut when long, and with anything shaped
 * like key material hidden. Messages end up in terminals, CI logs and issue trackers, so
 * a value is never echoed any other way.
 */

/** Longest value shown in full; longer ones are cut and say how long they were. */
export const QUOTE_MAX_CHARS = 60;

/** Control characters (C0, DEL, C1), format characters (bidi overrides, zero-width) and line/paragraph separators. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\u2028\u2029]/gu;

/**
 * Runs of standard base64, the alphabet of WireGuard keys (`wg genkey`, `wg genpsk`): key
 * material is one of these, possibly cut or unpadded, and possibly with invisible or control
 * characters pasted into it (they are still shown, as escapes, so the run around them is
 * judged as one). `-`, `_`, `.` and `:` end a run: no WireGuard key holds them, and they are
 * what splits cloud names (Standard_D16ds_v5, ubuntu-2404-lts-amd64) into readable parts.
 */
const BASE64_RUN = /(?:[A-Za-z0-9+/][\p{Cc}\p{Cf}\u2028\u2029]*){8,}={0,2}/gu;

/** Shortest run that may be key material: 16 characters of a key are 96 bits of it. */
export const KEY_RUN_MIN = 16;

export interface QuoteOptions {
  /** Longest value shown in full (default QUOTE_MAX_CHARS). */
  max?: number;
  /** Leave out the "(N characters)" note of a cut value (inside a config path, say). */
  bare?: boolean;
  /** Shortest base64 run hidden as possible key material (default KEY_RUN_MIN). */
  keyRun?: number;
}

export function hasUnprintable(text: string): boolean {
  UNPRINTABLE.lastIndex = 0;
  return UNPRINTABLE.test(text);
}

/** A word as people write one: a quarter or more vowels, and no five consonants in a row. */
const wordLike = (w: string): boolean => (w.match(/[aeiouy]/gi) ?? []).length * 4 >= w.length && !/[^aeiouy0-9]{5}/i.test(w);

/**
 * A piece of a run between slashes as names are written: eight or more of at most three
 * characters (xxxxxxxx), hex (AMI and subscription ids), short, one
 * case with at most three letter and digit parts (northcentralus, ubuntu2404lts), or words of
 * three letters or more in camel case (resourceGroups, WindowsServer2022Datacenter). Random
 * base64 switches case and class every two characters or so, so a cut of a key of 16 or more
 * characters reads as one of these about once in 250,000 cuts (measured over a million random
 * keys cut at random); a name that reads as random (ThisIsMyHub, MyRG) is hidden too, with its length.
 */
function readablePiece(p: string): boolean {
  if ((p.length >= 8 && new Set(p).size <= 3) || /^[0-9a-f]+$/.test(p) || /^[0-9A-F]+$/.test(p) || /^(?:[a-z0-9]{1,3}|[A-Z0-9]{1,3})$/.test(p)) return true;
  if (/^[a-z0-9]+$/.test(p) || /^[A-Z0-9]+$/.test(p)) return (p.match(/[a-zA-Z]+|[0-9]+/g) ?? []).length <= 3 && (p.match(/[a-zA-Z]+/g) ?? []).every(wordLike);
  const tokens = p.match(/[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+/g) ?? [];
  return tokens.every((t) => /^[0-9]+$/.test(t) || (/^[A-Z]?[a-z]{3,}$/.test(t) && wordLike(t)));
}

/**
 * True for a run that could be (part of) a key: long enough, and not a name, id or path as
 * people write them. A `+` never appears in those, so a run that holds one is always key-like.
 */
export function looksLikeKeyRun(run: string, min = KEY_RUN_MIN): boolean {
  const padded = run.replace(UNPRINTABLE, "");
  // The padding counts: the last 16 characters of a key are 15 of base64 and its "=".
  if (padded.length < min) return false;
  const body = padded.replace(/=+$/, "");
  if (body.includes("+")) return true;
  return !body.split("/").every(readablePiece);
}

/** What a message shows in place of possible key material: what it was and how long, never a character of it. */
export function keyMarker(run: string): string {
  return `<base64, ${[...run.replace(UNPRINTABLE, "")].length} chars, not shown>`;
}

/** Replaces anything that could be key material with a marker that says so. */
export function redactKeyMaterial(text: string, keyRun = KEY_RUN_MIN): string {
  return text.replace(BASE64_RUN, (run) => (looksLikeKeyRun(run, keyRun) ? keyMarker(run) : run));
}

function escapeChar(ch: string): string {
  switch (ch) {
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
    default:
      return `\\u{${(ch.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, "0")}}`;
  }
}

/** The text with every unprintable character written as an escape; nothing else changes. */
export function escapeUnprintable(text: string): string {
  return text.replace(UNPRINTABLE, escapeChar);
}

/** `"value"`, escaped, key material hidden, cut after `max` characters. */
export function quote(value: unknown, opts: QuoteOptions = {}): string {
  const max = opts.max ?? QUOTE_MAX_CHARS;
  const text = typeof value === "string" ? value : describeNonString(value);
  const length = [...text].length;
  // Hidden before cutting, so a cut never leaves the visible head of a key behind.
  const chars = [...redactKeyMaterial(text, opts.keyRun ?? KEY_RUN_MIN)];
  const cut = chars.length > max ? chars.slice(0, max).join("") : chars.join("");
  const shown = escapeUnprintable(cut.replace(/\\/g, "\\\\").replace(/"/g, '\\"'));
  if (chars.length <= max) return `"${shown}"`;
  return opts.bare ? `"${shown}…"` : `"${shown}…" (${length} characters)`;
}

/** A wg-quick value, quoted as any other (kept as its own name for the wg-quick modules). */
export function quoteWg(value: string, max = QUOTE_MAX_CHARS): string {
  return quote(value, { max });
}

/** Free text (a comment) shown inside a message without quotes: escaped, key-like runs hidden, cut with "…". */
export function plainText(value: string, max = QUOTE_MAX_CHARS): string {
  const chars = [...redactKeyMaterial(value)];
  return escapeUnprintable(chars.length > max ? `${chars.slice(0, max).join("")}…` : chars.join(""));
}

function describeNonString(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "a map" : typeof value;
}
