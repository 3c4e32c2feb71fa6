/**
 * Folders wg-mesh writes: rendered node configs, lab state, diagrams, bench results. The rule
 * is the team's first one: never delete or overwrite what wg-mesh did not write.
 *
 * - An output folder is written whole into a fresh temporary folder beside the target and
 *   moved into place only when every file is there, so a failure or a kill leaves the old
 *   folder (or none) and never half of a new one.
 * - Every folder wg-mesh writes carries a marker file listing what it wrote. An existing
 *   target is replaced only when the marker is there and the folder holds nothing it does
 *   not list (an empty folder holds nothing to lose); anything else is refused in one line.
 * - The current folder, the project's root, a parent of either and `/` are never targets,
 *   however they are spelled (`.`, `..`, a symlink to them).
 * - Symbolic links are never followed: a target that is one is refused, and a link inside a
 *   folder to be replaced counts as something wg-mesh did not write.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync, type Stats } from "node:fs";
import { basename, dirname, isAbsolute, join, normalize, relative, resolve, sep } from "node:path";
import { quote } from "../infra/quote";

export const OUTPUT_MARKER = ".wgmesh-output.json";

export interface OutputEntry {
  /** Relative to the folder, `/`-separated, e.g. `hkg/wg0.conf`. */
  path: string;
  content: string | Uint8Array;
  /** File mode; 0o600 for anything secret. Default 0o644. */
  mode?: number;
}

export interface OutputGuards {
  /** The current folder (default process.cwd()). */
  cwd?: string;
  /** The project's root folder, when there is one. */
  projectRoot?: string;
  /** How the folder was given, for messages, e.g. `--out`. */
  label?: string;
}

export interface OutputOptions extends OutputGuards {
  /** The wg-mesh command writing it, recorded in the marker, e.g. `render`. */
  tool: string;
}

export interface WrittenFolder {
  path: string;
  files: number;
  /** True when an earlier folder written by wg-mesh was replaced. */
  replaced: boolean;
}

/** A refusal the user can act on: one line naming the folder, what is wrong and what to do. */
export class OutputRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OutputRefusedError";
  }
}

interface Marker {
  writtenBy: "wg-mesh";
  tool: string;
  /** "output": replaced as a whole, holds exactly `files`; "scratch": a working folder wg-mesh fills as it goes. */
  kind: "output" | "scratch";
  files: string[];
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** The path with every existing part's symlinks resolved, so two spellings of one folder compare equal. */
function canonical(path: string): string {
  const abs = resolve(path);
  const missing: string[] = [];
  for (let at = abs; ; at = dirname(at)) {
    try {
      return join(realpathSync(at), ...missing.reverse());
    } catch {
      if (dirname(at) === at) return abs;
      missing.push(basename(at));
    }
  }
}

/** True when `inner` is `outer` or lies below it. */
function within(outer: string, inner: string): boolean {
  const rel = relative(outer, inner);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

function labelOf(target: string, guards: OutputGuards): string {
  return guards.label ? `${guards.label} ${quote(target)}` : quote(target);
}

/**
 * The absolute target, or a refusal if it is `/`, the current folder, the project root, a
 * parent of one of them, or a symbolic link.
 */
export function checkOutputTarget(target: string, guards: OutputGuards = {}): string {
  const label = labelOf(target, guards);
  if (target.trim() === "") throw new OutputRefusedError(`${label}: give a folder name, such as out`);
  const abs = resolve(target);
  const real = canonical(abs);
  const cwd = canonical(guards.cwd ?? process.cwd());
  const protectedFolders: [string, string][] = [[cwd, "the current folder"]];
  if (guards.projectRoot !== undefined) protectedFolders.push([canonical(guards.projectRoot), "the project's root"]);
  if (dirname(real) === real) throw new OutputRefusedError(`${label}: is /; wg-mesh writes a folder of its own: give a new one, such as ./out`);
  for (const [folder, what] of protectedFolders) {
    if (real === folder) throw new OutputRefusedError(`${label}: is ${what}; wg-mesh replaces the folder it writes as a whole: give a new one inside it, such as ./out`);
  }
  for (const [folder, what] of protectedFolders) {
    if (within(real, folder)) throw new OutputRefusedError(`${label}: holds ${what}; wg-mesh replaces the folder it writes as a whole: give a new one, such as ./out`);
  }
  const st = lstatOrUndefined(abs);
  if (st?.isSymbolicLink()) throw new OutputRefusedError(`${label}: is a symbolic link; wg-mesh does not follow links: give the folder itself or a new one`);
  if (st && !st.isDirectory()) throw new OutputRefusedError(`${label}: is a file, not a folder; give a new folder name`);
  return abs;
}

function readMarker(folder: string): Marker | undefined {
  const file = join(folder, OUTPUT_MARKER);
  const st = lstatOrUndefined(file);
  if (!st?.isFile()) return undefined;
  try {
    const m = JSON.parse(readFileSync(file, "utf8")) as Partial<Marker>;
    if (m.writtenBy !== "wg-mesh" || (m.kind !== "output" && m.kind !== "scratch") || !Array.isArray(m.files)) return undefined;
    return { writtenBy: "wg-mesh", tool: String(m.tool), kind: m.kind, files: m.files.filter((f): f is string => typeof f === "string") };
  } catch {
    return undefined;
  }
}

/** The first thing in `folder` (relative path) that the marker does not list, or undefined when it holds nothing foreign. */
function foreignEntry(folder: string, marker: Marker): string | undefined {
  const files = new Set([...marker.files, OUTPUT_MARKER]);
  const dirs = new Set<string>();
  for (const f of files) for (let d = dirname(f); d !== "." && d !== "/"; d = dirname(d)) dirs.add(d);
  const walk = (rel: string): string | undefined => {
    for (const name of readdirSync(join(folder, rel)).sort()) {
      const path = rel === "" ? name : `${rel}/${name}`;
      const st = lstatSync(join(folder, path));
      if (st.isDirectory() && dirs.has(path)) {
        const found = walk(path);
        if (found !== undefined) return found;
      } else if (!(st.isFile() && files.has(path))) return path;
    }
    return undefined;
  };
  return walk("");
}

/** Refuses unless the existing folder may be replaced: empty, or holding only what its marker lists. */
function checkReplaceable(abs: string, label: string): void {
  if (readdirSync(abs).length === 0) return;
  const marker = readMarker(abs);
  if (!marker) throw new OutputRefusedError(`${label}: exists and was not written by wg-mesh (it has no ${OUTPUT_MARKER}); give a new folder, or empty this one yourself`);
  if (marker.kind !== "output") throw new OutputRefusedError(`${label}: is a working folder of wg-mesh ${marker.tool}, not an output folder; give another folder`);
  const foreign = foreignEntry(abs, marker);
  if (foreign !== undefined) throw new OutputRefusedError(`${label}: holds ${quote(foreign)}, which wg-mesh did not write; move it out or give another folder`);
}

/** `hkg/wg0.conf` as a safe relative path inside the folder, or a refusal (an engine bug, not the user's). */
function entryPath(path: string): string {
  const norm = normalize(path).split(sep).join("/");
  if (path === "" || isAbsolute(path) || norm.startsWith("../") || norm === ".." || norm === "." || norm === OUTPUT_MARKER || /[\0\n\r]/.test(path)) {
    throw new Error(`output entry ${quote(path)} is not a plain relative path inside the folder`);
  }
  return norm;
}

function uniqueSibling(abs: string, what: string): string {
  return join(dirname(abs), `.${basename(abs)}.wgmesh-${what}-${process.pid}-${randomBytes(4).toString("hex")}`);
}

/**
 * Writes `entries` as the folder `target`: into a fresh temporary folder beside it, then moved
 * into place. An existing target is replaced only if wg-mesh wrote it and it holds nothing else.
 */
export function writeOutputFolder(target: string, entries: readonly OutputEntry[], opts: OutputOptions): WrittenFolder {
  const label = labelOf(target, opts);
  const abs = checkOutputTarget(target, opts);
  const existed = lstatOrUndefined(abs) !== undefined;
  if (existed) checkReplaceable(abs, label);
  const paths = entries.map((e) => entryPath(e.path));
  const duplicate = paths.find((p, i) => paths.indexOf(p) !== i);
  if (duplicate !== undefined) throw new Error(`output entry ${quote(duplicate)} is given twice`);

  const parent = dirname(abs);
  mkdirSync(parent, { recursive: true });
  const staging = mkdtempSync(join(parent, `.${basename(abs)}.wgmesh-tmp-`));
  const secret = entries.some((e) => ((e.mode ?? 0o644) & 0o077) === 0);
  const dirMode = secret ? 0o700 : 0o755;
  try {
    entries.forEach((e, i) => {
      const file = join(staging, paths[i] as string);
      mkdirSync(dirname(file), { recursive: true, mode: dirMode });
      writeFileSync(file, e.content, { mode: e.mode ?? 0o644, flag: "wx" });
      chmodSync(file, e.mode ?? 0o644); // the umask must not widen or narrow what was asked
    });
    const marker: Marker = { writtenBy: "wg-mesh", tool: opts.tool, kind: "output", files: [...paths].sort() };
    writeFileSync(join(staging, OUTPUT_MARKER), `${JSON.stringify(marker, null, 2)}\n`, { mode: 0o644, flag: "wx" });
    chmodSync(staging, dirMode);
    swapIntoPlace(staging, abs, label);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return { path: abs, files: entries.length, replaced: existed };
}

/** Moves `staging` to `abs`; an existing `abs` (already checked) is moved aside first and removed once the new one is in. */
function swapIntoPlace(staging: string, abs: string, label: string): void {
  const moveFailed = (err: unknown): never => {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR") throw new OutputRefusedError(`${label}: something else was written there meanwhile; nothing was replaced, run again`);
    throw err;
  };
  if (lstatOrUndefined(abs) === undefined) {
    try {
      renameSync(staging, abs);
    } catch (err) {
      moveFailed(err);
    }
    return;
  }
  const old = uniqueSibling(abs, "old");
  renameSync(abs, old);
  try {
    renameSync(staging, abs);
  } catch (err) {
    renameSync(old, abs);
    moveFailed(err);
  }
  // Checked again now that nobody can add to it under its old name; if something foreign
  // slipped in meanwhile it stays where it is and the user is told.
  const marker = readMarker(old);
  const foreign = readdirSync(old).length === 0 ? undefined : marker ? foreignEntry(old, marker) : OUTPUT_MARKER;
  if (foreign !== undefined) throw new OutputRefusedError(`${label}: replaced, but the old folder gained ${quote(foreign)} meanwhile; it is kept at ${quote(old)}`);
  rmSync(old, { recursive: true, force: true });
}

/**
 * A new working folder wg-mesh fills as it goes (the lab's state), marked as its own. It must
 * not exist yet: a working folder is never reused.
 */
export function createScratchFolder(target: string, tool: string, guards: OutputGuards = {}): string {
  const abs = checkOutputTarget(target, guards);
  mkdirSync(dirname(abs), { recursive: true, mode: 0o700 });
  try {
    mkdirSync(abs, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new OutputRefusedError(`${labelOf(target, guards)}: already exists; a working folder is always new, so something else made it: remove it yourself if it is stale`);
    throw err;
  }
  const marker: Marker = { writtenBy: "wg-mesh", tool, kind: "scratch", files: [] };
  writeFileSync(join(abs, OUTPUT_MARKER), `${JSON.stringify(marker)}\n`, { mode: 0o600, flag: "wx" });
  return abs;
}

/**
 * Removes a folder wg-mesh made (an output or working folder with its marker). Anything else
 * (no such folder, a link, a folder without the marker, a protected folder) is left alone;
 * the answer says whether it was removed.
 */
export function removeOwnedFolder(target: string, guards: OutputGuards = {}): boolean {
  let abs: string;
  try {
    abs = checkOutputTarget(target, guards);
  } catch (err) {
    if (err instanceof OutputRefusedError) return false;
    throw err;
  }
  const st = lstatOrUndefined(abs);
  if (!st?.isDirectory()) return false;
  const marker = readMarker(abs);
  if (!marker) return false;
  if (marker.kind === "output" && foreignEntry(abs, marker) !== undefined) return false;
  rmSync(abs, { recursive: true, force: true });
  return true;
}
