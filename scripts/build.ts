/**
 * `npm run build` (also npm's prepare, so `npm pack`, `npm ci` and an install from git run it): the
 * package as it ships, in dist/. TypeScript compiled to JavaScript with declarations (tsconfig.build.json),
 * the files the code reads beside itself (the node scripts, the lab's pinger, shipped data), the
 * policy pack's PulumiPolicy.yaml and package.json, and the component package's schema
 * (components/schema.json, which the plugin serves).
 *
 * Nothing happens when dist/ was built from exactly these sources (their hash is in dist/.wgmesh-build).
 * dist/ is written beside itself and moved into place when complete, and only a dist/ wg-mesh built
 * (it holds that file) is ever replaced.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, extname, join, relative } from "node:path";

const ROOT = join(__dirname, "..");
const DIST = join(ROOT, "dist");
/** In dist/, the hash of the sources it was built from; the package does not ship it (package.json files). */
export const BUILD_MARKER = ".wgmesh-build";
/** The folders tsconfig.build.json compiles; their other files ship beside the JavaScript. */
export const SOURCE_DIRS = ["infra", "components", "stacks", "cli", "lab", "workspace", "policy"] as const;
/** Files of those folders that are not copied as they are: the dev-only launcher and settings (the TypeScript is compiled). */
export const NOT_COPIED: ReadonlySet<string> = new Set(["cli/bin.js", "policy/tsconfig.json", "policy/package.json"]);
/** Sources tsconfig.build.json leaves out: tools for the checkout (npm run schema) that need the sources. */
export const NOT_COMPILED: ReadonlySet<string> = new Set(
  (JSON.parse(readFileSync(join(ROOT, "tsconfig.build.json"), "utf8")) as { exclude: string[] }).exclude,
);
/** What the build writes that no source file is copied or compiled to. */
export const GENERATED = ["components/schema.json", "policy/package.json"] as const;
const INPUTS = ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "scripts/build.ts"];

export function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .sort();
}

/** A hash of everything the build reads: the sources, the settings, the locked dependencies. */
export function sourceHash(): string {
  const hash = createHash("sha256");
  for (const file of [...INPUTS, ...SOURCE_DIRS.flatMap(filesUnder)]) hash.update(`${file}\0`).update(readFileSync(join(ROOT, file))).update("\0");
  return hash.digest("hex");
}

class BuildError extends Error {}

function fail(message: string): never {
  throw new BuildError(message);
}

function run(what: string, args: string[]): void {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) fail(`${what} failed (exit ${r.status ?? r.signal}); dist/ was left as it was`);
}

function build(): void {
  const hash = sourceHash();
  const marker = join(DIST, BUILD_MARKER);
  if (existsSync(DIST)) {
    if (!existsSync(marker)) fail("dist/ exists and was not built by npm run build (it has no .wgmesh-build); move it away and build again");
    if (readFileSync(marker, "utf8").split("\n")[0] === hash) {
      process.stderr.write("build: dist/ is up to date\n");
      return;
    }
  }
  const out = mkdtempSync(join(ROOT, ".dist.wgmesh-tmp-"));
  try {
    run("tsc", [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", out]);
    for (const dir of SOURCE_DIRS) {
      for (const file of filesUnder(dir)) {
        if (extname(file) === ".ts" || NOT_COPIED.has(file)) continue;
        mkdirSync(dirname(join(out, file)), { recursive: true });
        cpSync(join(ROOT, file), join(out, file));
      }
    }
    // The policy pack as Pulumi loads it from the package: package.json's main is the compiled entry.
    const policy = JSON.parse(readFileSync(join(ROOT, "policy", "package.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(out, "policy", "package.json"), `${JSON.stringify({ ...policy, main: "index.js", devDependencies: undefined }, null, 2)}\n`);
    // The schema, from the analyzer over the sources, in a process of its own (it loads every component).
    run("the package schema", ["--import", "tsx", join("components", "print-schema.ts"), join(out, "components", "schema.json")]);
    // The bin runs by its #! line wherever npm does not link it (npx in this checkout, a path): executable.
    chmodSync(join(out, "cli", "bin.js"), 0o755);
    writeFileSync(join(out, BUILD_MARKER), `${hash}\nBuilt by wg-mesh's npm run build from the sources with this hash; npm run build replaces this folder.\n`);
    const old = existsSync(DIST) ? `${out}-old` : undefined;
    if (old) renameSync(DIST, old);
    renameSync(out, DIST);
    if (old) rmSync(old, { recursive: true, force: true });
    process.stderr.write("build: dist/ built\n");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (require.main === module) {
  try {
    build();
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    process.stderr.write(`build: ${err.message}\n`);
    process.exitCode = 1;
  }
}
