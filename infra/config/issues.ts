/**
 * Zod's findings as `path: message` lines a person can act on: paths as they would be
 * written to reach the value (`nodes.hkg.links[0].peer`), and an unknown key answered with
 * the key that was probably meant.
 */
import type { z } from "zod";
import type { ConfigIssue } from "../model";
import { quote, redactKeyMaterial } from "../quote";

/**
 * `nodes.hkg.links[0].peer`. A key someone wrote is data: one that is not a plain name is
 * written quoted and escaped (`nodes["hk\ng"]`), so it can never break the line it is on;
 * one that could be key material is quoted too, so that quote hides it.
 */
/**
 * The keys the declaration's schema names (schema.ts fills it, as it does keysOf): a word of ours,
 * never key material, so never hidden (`failoverMaxStretch` reads like a random run to the heuristic).
 */
export const declaredKeys = new Set<string>();

export function formatPath(base: string, segments: readonly PropertyKey[]): string {
  let out = base;
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else if (typeof s === "string" && PLAIN_KEY.test(s) && (declaredKeys.has(s) || redactKeyMaterial(s) === s)) out += out === "" ? s : `.${s}`;
    else out += `[${quote(String(s), { max: 40, bare: true })}]`;
  }
  return out;
}

const PLAIN_KEY = /^[A-Za-z0-9_:-]{1,64}$/;

/** The path of an entry of a map keyed by name, e.g. `nodes.hkg` (or `nodes["h k g"]`). */
export function entryPath(map: string, key: string): string {
  return formatPath(map, [key]);
}

/** Messages written here start like this; anything else came from zod itself and is reworded. */
const OWN_MESSAGE = /^(is required|must |unknown key|is \d+ characters long|lists more than|".*" holds )/s;

const WORDS: Record<string, string> = { object: "a map", record: "a map", array: "a list", string: "text", number: "a number", boolean: "true or false", int: "a whole number" };

/** Zod's own wording ("Invalid input: expected object, received null") in the project's words. */
export function ownWords(issue: z.core.$ZodIssue, hint = 'see "Declaring a mesh" in the README'): string {
  if (OWN_MESSAGE.test(issue.message)) return issue.message;
  switch (issue.code) {
    case "invalid_type":
      return `must be ${WORDS[issue.expected] ?? issue.expected} here; ${hint}`;
    case "too_big":
      return `must be at most ${String(issue.maximum)}`;
    case "too_small":
      return `must be at least ${String(issue.minimum)}`;
    default:
      return `does not have the shape this setting takes; ${hint}`;
  }
}

export { closest } from "../spelling";
import { closest } from "../spelling";

interface SchemaNode {
  _zod: { def: { type: string; innerType?: SchemaNode; element?: SchemaNode; options?: SchemaNode[]; shape?: Record<string, SchemaNode> } };
}

/** For schemas zod cannot look into (a transform), the object schema whose keys they take. */
export const keysOf = new WeakMap<object, z.ZodType>();

/** The object keys a schema accepts at `path`, looking through optional, default, array and union. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let nodes: SchemaNode[] = [schema as unknown as SchemaNode];
  const unwrap = (list: SchemaNode[]): SchemaNode[] =>
    list.flatMap((n) => {
      const mapped = keysOf.get(n);
      if (mapped) return unwrap([mapped as unknown as SchemaNode]);
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
    out.push({ path: formatPath(base, issue.path), message: ownWords(issue) });
  }
  return out;
}
