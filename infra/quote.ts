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
 * Base64 (and URL-safe base64) runs; key material is one of these, possibly cut or unpadded,
 * and possibly with invisible or control characters pasted into it (they are still shown, as
 * escapes, so the run around them is judged as one).
 */
const BASE64_RUN = /(?:[A-Za-z0-9+/_-][\p{Cc}\p{Cf}\u2028\u2029]*){16,}={0,2}/gu;

export interface QuoteOptions {
  /** Longest value shown in full (default QUOTE_MAX_CHARS). */
  max?: number;
  /** Leave out the "(N characters)" note of a cut value (inside a config path, say). */
  bare?: boolean;
  /**
   * Shortest base64 run hidden as possible key material (default 40: a WireGuard key is 44
   * with padding). wg-quick values use 16: there any longer run could be part of a key.
   */
  keyRun?: number;
}

export function hasUnprintable(text: string): boolean {
  UNPRINTABLE.lastIndex = 0;
  return UNPRINTABLE.test(text);
}

/**
 * True for a run that could be (part of) a key: long enough and mixing character classes as
 * random base64 does. Words, paths and ids (all lower case, or digits and dashes) stay readable.
 */
function looksLikeKeyRun(run: string, min: number): boolean {
  const body = run.replace(UNPRINTABLE, "").replace(/=+$/, "");
  if (body.length < min) return false;
  const classes = [/[A-Z]/, /[a-z]/, /[0-9]/, /[+/_]/].filter((re) => re.test(body)).length;
  return classes >= 3 || (classes === 2 && /[A-Z]/.test(body) && /[a-z]/.test(body) && body.length >= 24);
}

/** Replaces anything that could be key material with a marker that says so. */
export function redactKeyMaterial(text: string, keyRun = 40): string {
  return text.replace(BASE64_RUN, (run) => (looksLikeKeyRun(run, keyRun) ? "(hidden: may be key material)" : run));
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
  const chars = [...redactKeyMaterial(text, opts.keyRun ?? 40)];
  const cut = chars.length > max ? chars.slice(0, max).join("") : chars.join("");
  const shown = escapeUnprintable(cut.replace(/\\/g, "\\\\").replace(/"/g, '\\"'));
  if (chars.length <= max) return `"${shown}"`;
  return opts.bare ? `"${shown}…"` : `"${shown}…" (${length} characters)`;
}

/** A wg-quick value: any run of 16 or more base64 characters could be part of a key. */
export function quoteWg(value: string, max = QUOTE_MAX_CHARS): string {
  return quote(value, { max, keyRun: 16 });
}

/** Free text (a comment) shown inside a message without quotes: escaped, key-like runs hidden, cut with "…". */
export function plainText(value: string, max = QUOTE_MAX_CHARS): string {
  const chars = [...redactKeyMaterial(value, 16)];
  return escapeUnprintable(chars.length > max ? `${chars.slice(0, max).join("")}…` : chars.join(""));
}

function describeNonString(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "a map" : typeof value;
}
