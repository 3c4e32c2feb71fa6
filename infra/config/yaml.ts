/**
 * A stack file's YAML as plain data, or one line per problem naming the file and line. A stack
 * config is a few levels deep and a few kilobytes, so anything far outside that is refused
 * before it is turned into data: a self-referencing alias (`adminCidrs: &me [*me]`) would be a
 * value that contains itself, deep nesting would exhaust the stack of every recursive reader,
 * and chains of aliases can expand a small file into billions of values.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import { MeshConfigError, type ConfigIssue } from "../model";
import { escapeUnprintable, redactKeyMaterial } from "../quote";

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

/** YAML's own messages, in one line and without any text of the file that could be a secret or a control character. */
function yamlMessage(code: string, message: string): string {
  if (code === "DUPLICATE_KEY") return "a key is given twice in this map; keep one";
  const first = (message.split("\n")[0] ?? message).replace(/ at line \d+, column \d+:?$/, "");
  if (/call stack/i.test(first)) return `nesting is deeper than ${MAX_YAML_DEPTH} levels; a stack config is a few levels deep: flatten it`;
  return `${escapeUnprintable(redactKeyMaterial(first, 16))} (YAML syntax; see "Declaring a mesh" in the README)`;
}

/** The file's data, or MeshConfigError with `file:line:col: message` lines. */
export function readStackYaml(text: string, file: string): unknown {
  if (text.length > MAX_YAML_BYTES) {
    throw new MeshConfigError([{ path: file, message: `is ${text.length} bytes; a stack config is a few kilobytes (at most ${MAX_YAML_BYTES}): is it the right file?` }]);
  }
  const lines = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  } catch (err) {
    // The parser recurses on nesting; a file deep enough exhausts the stack before any check can run.
    if (err instanceof RangeError) throw new MeshConfigError([{ path: `${file}:1:1`, message: `nesting is deeper than ${MAX_YAML_DEPTH} levels; a stack config is a few levels deep: flatten it` }]);
    throw err;
  }
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => issueAt(file, lines, e.pos[0], yamlMessage(e.code, e.message)));
    // Too deep a file fails at every level the parser unwinds through: once is enough.
    const deep = issues.find((i) => i.message.startsWith("nesting is deeper"));
    throw new MeshConfigError(deep ? [deep] : issues);
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
