/**
 * A stack file's YAML as plain data, or one line per problem naming the file and line. A stack
 * config is a few levels deep and a few kilobytes, so anything far outside that is refused
 * before it is turned into data: a self-referencing alias (`adminCidrs: &me [*me]`) would be a
 * value that contains itself, deep nesting would exhaust the stack of every recursive reader,
 * and chains of aliases can expand a small file into billions of values.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type YAMLError } from "yaml";
import { MeshConfigError, type ConfigIssue } from "../model";
import { escapeUnprintable, quote } from "../quote";

/** Far deeper than any stack config (config > wg-mesh:mesh > nodes > hkg > links > [0] > weight is 7). */
export const MAX_YAML_DEPTH = 32;
/** Values after expanding every alias; a large mesh of 1,000 nodes has some 20,000. */
export const MAX_YAML_VALUES = 200_000;
/** Bytes in a stack file. */
export const MAX_YAML_BYTES = 4 * 1024 * 1024;

interface Frame {
  node: unknown;
  depth: number;
  /** Anchored nodes this one sits inside, to catch an alias to one of them. */
  within: readonly unknown[];
}

function children(node: unknown): unknown[] {
  if (isMap(node) || isSeq(node)) return node.items as unknown[];
  if (isPair(node)) return [node.key, node.value];
  return [];
}

function rangeStart(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] | null }).range?.[0];
}

/**
 * Walks the document without recursion. Returns the first problem as [offset, message], or
 * undefined when the document is safe to turn into data.
 */
function structureProblem(doc: Document): [number, string] | undefined {
  const expanded = new Map<unknown, number>();
  const targets = new Map<unknown, unknown>();
  /** An alias's anchored node (yaml looks it up by walking the document, so once per alias). */
  const resolved = (c: unknown): unknown => {
    if (!isAlias(c)) return c;
    if (!targets.has(c)) targets.set(c, c.resolve(doc));
    return targets.get(c);
  };
  /** Values a node stands for once its aliases are expanded: post-order, each node once, memoised. */
  const sizeOf = (root: unknown): number => {
    const stack: [unknown, boolean][] = [[root, false]];
    const onPath = new Set<unknown>();
    while (stack.length > 0) {
      const [n, childrenDone] = stack.pop() as [unknown, boolean];
      if (expanded.has(n)) continue;
      if (childrenDone) {
        let size = 1;
        for (const c of children(n)) size += expanded.get(resolved(c)) ?? 1;
        expanded.set(n, Math.min(size, Number.MAX_SAFE_INTEGER));
        onPath.delete(n);
        continue;
      }
      // A cycle is reported by the walk below; here it only must not loop.
      if (onPath.has(n)) continue;
      onPath.add(n);
      stack.push([n, true]);
      for (const c of children(n)) if (!expanded.has(resolved(c))) stack.push([resolved(c), false]);
    }
    return expanded.get(root) ?? 1;
  };

  const stack: Frame[] = [{ node: doc.contents, depth: 0, within: [] }];
  let values = 0;
  while (stack.length > 0) {
    const { node, depth, within } = stack.pop() as Frame;
    if (node === null || node === undefined) continue;
    if (depth > MAX_YAML_DEPTH) {
      return [rangeStart(node) ?? 0, `nesting is deeper than ${MAX_YAML_DEPTH} levels; a stack config is a few levels deep: flatten it`];
    }
    if (isAlias(node)) {
      const target = resolved(node);
      if (target === undefined) return [rangeStart(node) ?? 0, `alias *${aliasName(node.source)} names no anchor &${aliasName(node.source)} above it; define the anchor first or write the value out`];
      if (within.includes(target)) {
        return [rangeStart(node) ?? 0, `alias *${aliasName(node.source)} sits inside the value it refers to (&${aliasName(node.source)}), so that value would contain itself forever; write the values out instead`];
      }
      values += sizeOf(target);
      if (values > MAX_YAML_VALUES) {
        return [rangeStart(node) ?? 0, `aliases expand this file to more than ${MAX_YAML_VALUES} values (here *${aliasName(node.source)}); write the values out, or use fewer nested aliases`];
      }
      continue;
    }
    if (isPair(node)) {
      const key = resolved(node.key);
      if (isMap(key) || isSeq(key)) return [rangeStart(node.key) ?? 0, "a key here is a list or map; the keys of a stack file are plain names (key: value)"];
    }
    values++;
    const anchored = (isMap(node) || isSeq(node) || isScalar(node)) && (node as Node).anchor ? [...within, node] : within;
    for (const c of children(node)) stack.push({ node: c, depth: isPair(node) ? depth : depth + 1, within: anchored });
  }
  return undefined;
}

function aliasName(source: string): string {
  return escapeUnprintable(source.length > 40 ? `${source.slice(0, 40)}…` : source);
}

function issueAt(file: string, lines: LineCounter, offset: number, message: string): ConfigIssue {
  const pos = lines.linePos(offset);
  return { path: `${file}:${pos.line}:${pos.col}`, message };
}

/** Characters YAML text never holds (YAML 1.2 "printable"), and lone surrogates. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const NOT_YAML_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u0084\u0086-\u009F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function lineColOf(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return `${line}:${offset - before.lastIndexOf("\n")}`;
}

/** Offset of the first byte that does not continue valid UTF-8, or -1. */
function firstBadUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    const n = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    // Overlong forms, surrogates and code points above U+10FFFF.
    const b1 = bytes[i + 1] ?? 0;
    if ((b === 0xe0 && b1 < 0xa0) || (b === 0xed && b1 > 0x9f) || (b === 0xf0 && b1 < 0x90) || (b === 0xf4 && b1 > 0x8f)) return i;
    i += n + 1;
  }
  return -1;
}

/**
 * A stack file's bytes as text, as YAML (and the Pulumi CLI) read them: UTF-8, or UTF-16 with its
 * byte-order mark; a UTF-8 byte-order mark is dropped. A file that is not text (random bytes, a
 * binary, another encoding) is one line naming where it stops being text.
 */
export function stackText(input: string | Uint8Array, file: string): string {
  let text: string;
  if (typeof input === "string") text = input;
  else if (input[0] === 0xff && input[1] === 0xfe) text = new TextDecoder("utf-16le").decode(input.subarray(2));
  else if (input[0] === 0xfe && input[1] === 0xff) text = new TextDecoder("utf-16be").decode(input.subarray(2));
  else {
    const bad = firstBadUtf8(input);
    if (bad >= 0) {
      const before = new TextDecoder().decode(input.subarray(0, bad));
      throw new MeshConfigError([{ path: `${file}:${lineColOf(before, before.length)}`, message: `is not UTF-8 text from here (byte 0x${(input[bad] as number).toString(16).padStart(2, "0")}); save the stack file as UTF-8, or is it the wrong file?` }]);
    }
    text = new TextDecoder().decode(input);
  }
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  const m = NOT_YAML_TEXT.exec(text);
  if (m) {
    const code = (m[0].codePointAt(0) as number).toString(16).toUpperCase().padStart(4, "0");
    throw new MeshConfigError([{ path: `${file}:${lineColOf(text, m.index)}`, message: `holds a control character (U+${code}), which YAML text never does; a stack file is YAML text: is it the right file?` }]);
  }
  return text;
}

const GENERIC = "cannot be read as YAML here; check the colon, quotes and indentation of this line and the one above";

/** The code of a line without its comment (naively: a # after a space outside quotes ends it). */
function codeOf(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1] as string))) return line.slice(0, i).trimEnd();
  }
  return line.trimEnd();
}

/** Column (0-based) of a quote the line opens and does not close, or -1. */
function unclosedQuote(line: string): number {
  let open = -1;
  let quoteChar: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quoteChar) {
      if (c === "\\" && quoteChar === '"') i++;
      else if (c === quoteChar) quoteChar = undefined;
    } else if (c === "#" && (i === 0 || /\s/.test(line[i - 1] as string))) break;
    else if ((c === '"' || c === "'") && (i === 0 || /[\s:,[{-]/.test(line[i - 1] as string))) [quoteChar, open] = [c, i];
  }
  return quoteChar ? open : -1;
}

const indentOf = (line: string): number => line.length - line.trimStart().length;
const isKeyValue = (code: string): boolean => /^(- +)?[^\s#][^:]*:( |$)/.test(code.trimStart());

interface SyntaxProblem {
  line: number;
  col: number;
  message: string;
}

/**
 * YAML's "implicit key on more than one line": a line that is not `key: value` (a colon left
 * out), or a line indented deeper than a `key: value` above it, which YAML reads as more of
 * that value. Said about the line that is wrong, at its first character.
 */
function implicitKeyProblem(lines: readonly string[], at: number): SyntaxProblem | undefined {
  const code = codeOf(lines[at - 1] ?? "");
  const body = code.trimStart().replace(/^- +/, "");
  const col = indentOf(code) + 1;
  if (body !== "" && !/^[[{"'|>&*!]/.test(body) && !isKeyValue(code)) {
    const glued = /^([^\s:]+):(\S.*)$/.exec(body);
    if (glued) return { line: at, col, message: `${quote(body)} is not key: value: a colon takes a space after it (${quote(`${glued[1] ?? ""}: ${glued[2] ?? ""}`, { bare: true })})` };
    const [key, ...rest] = body.split(/\s+/);
    const fixed = rest.length > 0 ? `${key ?? ""}: ${rest.join(" ")}` : `${body}: <value>`;
    return { line: at, col, message: `${quote(body)} is not key: value: a colon is missing after the key (${quote(fixed, { bare: true })})` };
  }
  const next = nextCodeLine(lines, at);
  if (next === undefined || indentOf(next.text) <= indentOf(code) || !isKeyValue(code) || /:\s*$/.test(code)) return undefined;
  // The line above and the line below line up, and this one does not: it is the one moved.
  const before = previousCodeLine(lines, at);
  if (before && indentOf(before.text) === indentOf(next.text) && !/:\s*$/.test(before.text)) {
    return { line: at, col, message: `is indented less than the lines around it (lines ${before.line} and ${next.line}); indent it like them` };
  }
  return { line: next.line, col: indentOf(next.text) + 1, message: `is indented deeper than line ${at} (${quote(code.trim())}), so YAML reads it as more of that value; indent it like line ${at}` };
}

function nextCodeLine(lines: readonly string[], at: number): { line: number; text: string } | undefined {
  for (let n = at; n < lines.length; n++) {
    const text = codeOf(lines[n] ?? "");
    if (text.trim() !== "") return { line: n + 1, text };
  }
  return undefined;
}

function previousCodeLine(lines: readonly string[], at: number): { line: number; text: string } | undefined {
  for (let n = at - 2; n >= 0; n--) {
    const text = codeOf(lines[n] ?? "");
    if (text.trim() !== "") return { line: n + 1, text };
  }
  return undefined;
}

/**
 * A line whose indentation matches no level open above it: said with the nearest levels it could
 * have meant, and their lines.
 */
function misalignedProblem(lines: readonly string[], at: number): SyntaxProblem | undefined {
  const code = codeOf(lines[at - 1] ?? "");
  if (code.trim() === "") return undefined;
  const here = indentOf(code);
  const open: { indent: number; line: number }[] = [];
  for (let n = 0; n < at - 1; n++) {
    const text = codeOf(lines[n] ?? "");
    if (text.trim() === "") continue;
    const indent = indentOf(text);
    while (open.length > 0 && (open.at(-1) as { indent: number }).indent > indent) open.pop();
    if (open.length > 0 && (open.at(-1) as { indent: number }).indent === indent) (open.at(-1) as { line: number }).line = n + 1;
    else open.push({ indent, line: n + 1 });
  }
  const deeper = open.find((o) => o.indent > here);
  const shallower = [...open].reverse().find((o) => o.indent < here);
  const near = [deeper, shallower].filter((o): o is { indent: number; line: number } => o !== undefined).map((o) => `${o.indent} (line ${o.line})`);
  if (open.some((o) => o.indent === here) || near.length === 0) return undefined;
  return { line: at, col: here + 1, message: `is indented ${here} spaces, but the lines above it are at ${near.join(" or ")}; line it up with the key it belongs beside` };
}

/** The last [ or { opened on a line up to `at` and closed neither there nor on the lines after it up to `at`. */
function openFlowAbove(lines: readonly string[], at: number): SyntaxProblem | undefined {
  let after = 0;
  for (let n = Math.min(at, lines.length); n >= 1 && n > at - 50; n--) {
    const line = lines[n - 1] ?? "";
    const net = flowBalance(line);
    const open = unclosedFlow(line);
    if (open >= 0 && net + after > 0) {
      const map = line[open] === "{";
      return { line: n, col: open + 1, message: `this ${map ? "{ } map" : "[ ] list"} is not closed on its line; close it (${map ? "}" : "]"}) or write one item per line` };
    }
    after += net;
  }
  return undefined;
}

/** Brackets a line opens less those it closes, outside quotes and comments. */
function flowBalance(line: string): number {
  let net = 0;
  let quoteChar: string | undefined;
  for (const c of codeOf(line)) {
    if (quoteChar) {
      if (c === quoteChar) quoteChar = undefined;
    } else if (c === '"' || c === "'") quoteChar = c;
    else if (c === "[" || c === "{") net++;
    else if (c === "]" || c === "}") net--;
  }
  return net;
}

/** Column (0-based) of a [ or { the line opens and does not close, or -1. */
function unclosedFlow(line: string): number {
  const opened: number[] = [];
  let quoteChar: string | undefined;
  const code = codeOf(line);
  for (let i = 0; i < code.length; i++) {
    const c = code[i] as string;
    if (quoteChar) {
      if (c === quoteChar) quoteChar = undefined;
    } else if (c === '"' || c === "'") quoteChar = c;
    else if (c === "[" || c === "{") opened.push(i);
    else if ((c === "]" || c === "}") && opened.length > 0) opened.pop();
  }
  return opened.length > 0 ? (opened[0] as number) : -1;
}

/** One syntax error in the project's words, at the line and column of what is wrong. */
function syntaxProblem(text: string, lines: readonly string[], counter: LineCounter, e: YAMLError): SyntaxProblem {
  const pos = counter.linePos(e.pos[0]);
  const here = (message: string): SyntaxProblem => ({ line: pos.line, col: pos.col, message });
  // A [ or { left open above makes everything after it look wrong: that is the one mistake.
  const flow = openFlowAbove(lines, pos.line);
  if (flow) return flow;
  switch (e.code) {
    case "TAB_AS_INDENT": {
      const tabbed = lines.filter((l) => /^[ ]*\t/.test(l)).length;
      return here(`is indented with a tab${tabbed > 1 ? ` (as are ${tabbed} lines of this file)` : ""}; YAML indents with spaces only: replace the tabs with spaces`);
    }
    case "MULTILINE_IMPLICIT_KEY":
    case "BLOCK_AS_IMPLICIT_KEY":
      return implicitKeyProblem(lines, pos.line) ?? here(GENERIC);
    case "BAD_INDENT":
      return (
        misalignedProblem(lines, pos.line) ?? {
          line: pos.line,
          col: indentOf(lines[pos.line - 1] ?? "") + 1,
          message: "is not indented like the lines around it: the keys of one map, and the items of one list, start in one column; line it up",
        }
      );
    case "MISSING_CHAR":
      if (/quote/i.test(e.message)) {
        // YAML notices at the end of the file; the mistake is the last line that opens a quote and leaves it open.
        for (let n = Math.min(pos.line, lines.length); n >= 1; n--) {
          const open = unclosedQuote(lines[n - 1] ?? "");
          if (open >= 0) return { line: n, col: open + 1, message: "this quoted value is not closed: add the closing quote on the same line" };
        }
        return here("a quoted value is not closed: add the closing quote on the same line");
      }
      if (/comment/i.test(e.message)) return here("a # starts a comment only after a space; put a space before #, or quote the value");
      return here("a [ ] list or { } map is not closed, or lacks a comma between items; close it, or write one item per line");
    case "MULTIPLE_DOCS":
      return here("starts a second YAML document (---); a stack file is one document: remove the rest");
    case "BAD_DQ_ESCAPE":
      return here("a double-quoted value holds a backslash escape YAML does not know; write \\\\ for a backslash, or use single quotes");
    case "TAG_RESOLVE_FAILED":
      return here("holds a tag (!name) YAML does not know; remove it");
    case "BLOCK_IN_FLOW":
      return here("a value inside [ ] or { } spreads over lines as a block; write the whole list or map in one style");
    case "BAD_SCALAR_START":
      return here("a value cannot start with @ or ` unless it is quoted; quote it");
    case "KEY_OVER_1024_CHARS":
      return here("a key longer than 1024 characters; is a colon missing?");
    case "ALIAS_PROPS":
    case "BAD_ALIAS":
    case "MULTIPLE_ANCHORS":
    case "MULTIPLE_TAGS":
    case "BAD_PROP_ORDER":
      return here("an anchor (&name), alias (*name) or tag (!name) is out of place here; write the value out");
    case "BAD_DIRECTIVE":
      return here("a % directive; a stack file has none: remove the line");
    default:
      return here(text.length === 0 ? "is empty" : GENERIC);
  }
}

/** The key a duplicate-key error points at, as written. */
function keyAt(text: string, offset: number): string {
  const rest = text.slice(offset, offset + 200).split("\n")[0] ?? "";
  return rest.replace(/\s*:(\s.*)?$/, "").trim() || rest.trim();
}

/** The file's data, or MeshConfigError with `file:line:col: message` lines. */
export function readStackYaml(input: string | Uint8Array, file: string): unknown {
  if (input.length > MAX_YAML_BYTES) {
    throw new MeshConfigError([{ path: file, message: `is ${input.length} bytes; a stack config is a few kilobytes (at most ${MAX_YAML_BYTES}): is it the right file?` }]);
  }
  const text = stackText(input, file);
  const lines = new LineCounter();
  let doc: Document;
  try {
    // Silent: what yaml would warn about (a map as a key, an unknown tag) is checked here, in the project's words.
    doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines, logLevel: "silent" });
  } catch (err) {
    // The parser recurses on nesting; a file deep enough exhausts the stack before any check can run.
    if (err instanceof RangeError) throw new MeshConfigError([{ path: `${file}:1:1`, message: `nesting is deeper than ${MAX_YAML_DEPTH} levels; a stack config is a few levels deep: flatten it` }]);
    throw err;
  }
  if (doc.errors.length > 0) {
    if (doc.errors.some((e) => /call stack/i.test(e.message))) {
      throw new MeshConfigError([issueAt(file, lines, 0, `nesting is deeper than ${MAX_YAML_DEPTH} levels; a stack config is a few levels deep: flatten it`)]);
    }
    // One syntax error is one line: what follows the first is the parser losing its footing (a
    // tab-indented file would give a line per line, and "duplicate" keys it made up). A key
    // given twice is a problem of its own only in a file that otherwise reads.
    const syntax = doc.errors.filter((e) => e.code !== "DUPLICATE_KEY").sort((a, b) => a.pos[0] - b.pos[0]);
    if (syntax.length > 0) {
      const p = syntaxProblem(text, text.split(/\r?\n/), lines, syntax[0] as YAMLError);
      throw new MeshConfigError([{ path: `${file}:${p.line}:${p.col}`, message: p.message }]);
    }
    throw new MeshConfigError(doc.errors.map((e) => issueAt(file, lines, e.pos[0], `${quote(keyAt(text, e.pos[0]), { max: 40 })} is given a second time in this map; keep one`)));
  }
  const problem = structureProblem(doc);
  if (problem) throw new MeshConfigError([issueAt(file, lines, problem[0], problem[1])]);
  try {
    return doc.toJS({ maxAliasCount: -1 });
  } catch (err) {
    if (err instanceof RangeError || err instanceof ReferenceError) {
      throw new MeshConfigError([{ path: `${file}:1:1`, message: `cannot be read as data (${escapeUnprintable(err.message.split("\n")[0] ?? "")}); simplify its anchors and aliases` }]);
    }
    throw err;
  }
}
