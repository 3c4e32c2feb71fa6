/**
 * What `npm pack` puts in the package: exactly the compiled sources (JavaScript and declarations),
 * the files the code reads beside itself, the component package's schema and PulumiPlugin.yaml;
 * no TypeScript source, test, bench or stack file of this repository. npm pack runs the build
 * (npm's prepare), which does nothing when dist/ is up to date.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GENERATED, NOT_COMPILED, NOT_COPIED, SOURCE_DIRS, filesUnder } from "../../scripts/build";

const REPO = join(__dirname, "..", "..");

interface PackageJson {
  private?: boolean;
  main: string;
  types: string;
  exports: Record<string, string | Record<string, string>>;
  bin: Record<string, string>;
  files: string[];
  dependencies: Record<string, string>;
}
const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as PackageJson;

/** The files the package should hold, derived from the sources. */
function expectedFiles(): string[] {
  const dist = SOURCE_DIRS.flatMap(filesUnder).flatMap((file) => {
    if (file.endsWith(".ts")) return NOT_COMPILED.has(file) ? [] : [file.replace(/\.ts$/, ".js"), file.replace(/\.ts$/, ".d.ts")];
    return NOT_COPIED.has(file) ? [] : [file];
  });
  return [...new Set([...dist, ...GENERATED])].map((f) => `dist/${f}`).concat(["package.json", "README.md", "PulumiPlugin.yaml", "monitoring/wgmesh.rules.yml"]).sort();
}

let packed: string[] | undefined;
function packedFiles(): string[] {
  if (packed) return packed;
  const r = spawnSync("npm", ["pack", "--dry-run", "--json", "--loglevel=error"], { cwd: REPO, encoding: "utf8", timeout: 600_000 });
  assert.equal(r.status, 0, r.stderr);
  packed = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path).sort() ?? [];
  return packed;
}

test("npm pack ships exactly the compiled sources, their data, the schema and PulumiPlugin.yaml", () => {
  const files = packedFiles();
  assert.deepEqual(files, expectedFiles());
  assert.ok(!files.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), "no TypeScript source");
  for (const f of ["dist/components/schema.json", "dist/infra/render/wgmesh-sync.sh", "dist/lab/batch-ping.py", "dist/policy/PulumiPolicy.yaml"]) assert.ok(files.includes(f), f);
});

test("package.json: a public package whose main, types, exports and bin are files it ships", () => {
  assert.notEqual(pkg.private, true);
  const files = packedFiles();
  const dot = pkg.exports["."] as Record<string, string>;
  for (const target of [pkg.main, pkg.types, dot.types, dot.default, ...Object.values(pkg.bin)]) {
    assert.ok(target && files.includes(target.replace(/^\.\//, "")), `${target} ships`);
  }
  // The bin runs as a program: node's shebang first.
  assert.match(readFileSync(join(REPO, pkg.bin.wgmesh as string), "utf8"), /^#!\/usr\/bin\/env node\n/);
  // What the compiled code needs at run time is a dependency, not a devDependency of this checkout.
  assert.ok(!("tsx" in pkg.dependencies) && !("typescript" in pkg.dependencies), "no compiler at run time");
});
