/**
 * Zod's findings as `path: message` lines a person can act on: paths as they would be
 * written to reach the value (`nodes.hkg.links[0].peer`), and an unknown key answered with
 * the key that was probably meant.
 */
import type { z } from "zod";
import type { ConfigIssue } from "../model";

export function formatPath(base: string, segments: readonly PropertyKey[]): string {
  let out = base;
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else out += out === "" ? String(s) : `.${String(s)}`;
  }
  return out;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = Math.min(above + 1, (row[j - 1] as number) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(lower, c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

interface SchemaNode {
  _zod: { def: { type: string; innerType?: SchemaNode; element?: SchemaNode; options?: SchemaNode[]; shape?: Record<string, SchemaNode> } };
}

/** The object keys a schema accepts at `path`, looking through optional, default, array and union. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let nodes: SchemaNode[] = [schema as unknown as SchemaNode];
  const unwrap = (list: SchemaNode[]): SchemaNode[] =>
    list.flatMap((n) => {
      const def = n._zod.def;
      if ((def.type === "optional" || def.type === "default" || def.type === "nullable") && def.innerType) return unwrap([def.innerType]);
      if (def.type === "union" && def.options) return unwrap(def.options);
      return [n];
    });
  for (const segment of path) {
    nodes = unwrap(nodes).flatMap((n) => {
      const def = n._zod.def;
      if (typeof segment === "number") return def.type === "array" && def.element ? [def.element] : [];
      const child = def.type === "object" ? def.shape?.[String(segment)] : undefined;
      return child ? [child] : [];
    });
  }
  return [...new Set(unwrap(nodes).flatMap((n) => (n._zod.def.type === "object" ? Object.keys(n._zod.def.shape ?? {}) : [])))];
}

export function issuesFromZod(error: z.ZodError, schema: z.ZodType, base: string): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        const guess = closest(key, known);
        out.push({
          path: formatPath(base, [...issue.path, key]),
          message: guess ? `unknown key; did you mean ${guess}?` : `unknown key; known keys here: ${known.join(", ")}`,
        });
      }
      continue;
    }
    out.push({ path: formatPath(base, issue.path), message: issue.message });
  }
  return out;
}
