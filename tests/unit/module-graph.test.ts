/**
 * The code's own modules import one way: no circle of imports anywhere in the project (a type
 * import counts: a circle of types is a circle a reader has to hold in their head), and the
 * engine in infra/ imports nothing from the layers built on it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const ROOT = resolve(__dirname, "../..");
const FOLDERS = ["infra", "components", "stacks", "cli", "workspace", "lab", "policy", "bench"];

function sources(folder: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (entry === "node_modules") continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith(".ts") && !path.endsWith(".d.ts")) out.push(path);
    }
  };
  if (existsSync(folder)) walk(folder);
  return out;
}

/** Project-relative file -> the project files it imports or re-exports from (type-only included). */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const deps: string[] = [];
    for (const { fileName } of ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles) {
      if (!fileName.startsWith(".")) continue;
      const base = resolve(dirname(file), fileName);
      const target = [`${base}.ts`, join(base, "index.ts"), base].find((c) => existsSync(c) && statSync(c).isFile());
      if (target?.endsWith(".ts")) deps.push(relative(ROOT, target));
    }
    graph.set(relative(ROOT, file), deps);
  }
  return graph;
}

/** Strongly connected components of more than one file (or a file importing itself): the circles. */
function circles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

test("the circle finder finds a circle of type imports and a self-import, and nothing in a line", () => {
  assert.deepEqual(circles(new Map([["a", ["b"]], ["b", ["c"]], ["c", []]])), []);
  assert.deepEqual(circles(new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]])), [["a", "b", "c"]]);
  assert.deepEqual(circles(new Map([["a", ["a"]]])), [["a"]]);
  // The parser sees `import type` and `export ... from` as imports.
  const seen = ts.preProcessFile('import type { X } from "./x";\nexport { Y } from "./y";\n', true, true).importedFiles.map((f) => f.fileName);
  assert.deepEqual(seen, ["./x", "./y"]);
});

test("no module of the project is part of a circle of imports", () => {
  const graph = importGraph(FOLDERS.flatMap((f) => sources(join(ROOT, f))));
  assert.ok(graph.size > 150, `read ${graph.size} modules`);
  assert.ok((graph.get("infra/config/index.ts") ?? []).includes("infra/config/schema.ts"), "imports are resolved to files");
  assert.deepEqual(circles(graph), []);
});

test("the engine (infra/) imports nothing from the layers built on it", () => {
  const graph = importGraph(sources(join(ROOT, "infra")));
  const outward = [...graph].flatMap(([file, deps]) => deps.filter((d) => !d.startsWith("infra/")).map((d) => `${file} -> ${d}`));
  assert.deepEqual(outward, []);
});
