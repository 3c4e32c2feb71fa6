/**
 * Reading a folder of wg-quick files someone wrote: `DIR/<node>.conf` or
 * `DIR/<node>/wg0.conf`, each node named by its file or folder. The only I/O the lint and
 * `lab --dir` need; everything after it is pure.
 *
 * Names of files are data: nodes live in Maps (a file called `__proto__.conf` is a node like
 * any other), and a name that would break a line of output is refused. Symbolic links are
 * never followed, so nothing outside the folder is ever read (or echoed); each one skipped is
 * said. Every file is read and every problem of every file is collected, so one run names all.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readdirSync, statSync, type Stats } from "node:fs";
import { join } from "node:path";
import type { WgQuickConfig } from "../infra/model";
import { escapeUnprintable, hasUnprintable, quote } from "../infra/quote";
import { parseWgQuickAll } from "../infra/wgquick";
import { ProblemsError, UserError } from "../infra/errors";

const LAYOUT = "DIR/<node>.conf or DIR/<node>/wg0.conf";
/** A wg-quick file of a thousand peers is some 200 KB. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

export interface ConfigFolder {
  dir: string;
  /** node -> config, sorted by node name; a file with problems is here as far as it could be read. */
  configs: Map<string, WgQuickConfig>;
  /** node -> the file it was read from. */
  files: Map<string, string>;
  /** `file:line: message`, every problem of every file, in file order. */
  problems: string[];
  /** Nodes whose file has problems: wg-quick would refuse or misread it. */
  broken: Map<string, string>;
  /** Entries skipped on purpose (symbolic links), one line each. */
  skipped: string[];
}

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

const byName = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);

interface Candidate {
  node: string;
  file: string;
}

/** node -> file, sorted by node name so every run reads the same order. */
function configFiles(dir: string, out: ConfigFolder): Candidate[] {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new UserError(`${quote(dir)} is a file, not a folder; give a folder of wg-quick files (${LAYOUT})`);
    names = readdirSync(dir);
  } catch (err) {
    if (err instanceof UserError) throw err;
    if (errorCode(err) === "ENOENT") throw new UserError(`${quote(dir)}: no such folder; give a folder of wg-quick files (${LAYOUT})`);
    throw new UserError(`${quote(dir)}: cannot read the folder (${errorCode(err)})`);
  }
  const found = new Map<string, string>();
  for (const name of names.sort(byName)) {
    const path = join(dir, name);
    const shown = escapeUnprintable(path);
    const st = lstatOrUndefined(path);
    if (!st) continue;
    const isConf = name.endsWith(".conf") && name.length > ".conf".length;
    let node: string | undefined;
    let file: string | undefined;
    if (st.isSymbolicLink()) {
      if (isConf || lstatOrUndefined(join(path, "wg0.conf")) !== undefined) {
        out.skipped.push(`${shown}: a symbolic link, not followed; wg-mesh reads only files inside the folder (copy the file in to lint it)`);
      }
      continue;
    }
    if (isConf && st.isFile()) [node, file] = [name.slice(0, -".conf".length), path];
    else if (st.isDirectory()) {
      const inner = join(path, "wg0.conf");
      const ist = lstatOrUndefined(inner);
      if (ist?.isSymbolicLink()) out.skipped.push(`${escapeUnprintable(inner)}: a symbolic link, not followed; wg-mesh reads only files inside the folder (copy the file in to lint it)`);
      else if (ist?.isFile()) [node, file] = [name, inner];
    }
    if (node === undefined || file === undefined) continue;
    if (hasUnprintable(node)) {
      out.problems.push(`${escapeUnprintable(file)}: the node name ${quote(node)} holds a control character; rename the file`);
      continue;
    }
    const other = found.get(node);
    if (other !== undefined) {
      out.problems.push(`${file}: node ${node} has two configs, ${other} and ${file}; keep one`);
      continue;
    }
    found.set(node, file);
  }
  if (found.size === 0 && out.problems.length === 0) {
    const also = out.skipped.length > 0 ? ` (${out.skipped.length} symbolic link${out.skipped.length === 1 ? "" : "s"} not followed)` : "";
    throw new UserError(`${quote(dir)}: no wg-quick files found${also}; expected ${LAYOUT}`);
  }
  return [...found.entries()].sort(([a], [b]) => byName(a, b)).map(([node, file]) => ({ node, file }));
}

/** The file's text, refusing anything that is not a plain file of sensible size (a FIFO would block forever). */
function readConfigText(file: string): string {
  let fd: number;
  try {
    // O_NOFOLLOW | O_NONBLOCK: a link swapped in since the listing is refused, a FIFO never blocks.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw new UserError(`${escapeUnprintable(file)}: cannot read it (${errorCode(err) === "ELOOP" ? "a symbolic link, not followed" : errorCode(err)})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UserError(`${escapeUnprintable(file)}: not a regular file; skipped`);
    if (st.size > MAX_CONFIG_BYTES) throw new UserError(`${escapeUnprintable(file)}: is ${st.size} bytes; a wg-quick file is a few kilobytes (at most ${MAX_CONFIG_BYTES}): is it the right file?`);
    const buf = Buffer.alloc(st.size);
    let read = 0;
    while (read < st.size) {
      const n = readSync(fd, buf, read, st.size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buf.subarray(0, read).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** Every file of the folder read and parsed; problems collected, never thrown (only folder-level ones are). */
export function readConfigFolder(dir: string): ConfigFolder {
  const out: ConfigFolder = { dir, configs: new Map(), files: new Map(), problems: [], broken: new Map(), skipped: [] };
  for (const { node, file } of configFiles(dir, out)) {
    let text: string;
    try {
      text = readConfigText(file);
    } catch (err) {
      out.problems.push(err instanceof Error ? err.message : String(err));
      out.broken.set(node, `${escapeUnprintable(file)} could not be read`);
      continue;
    }
    const parsed = parseWgQuickAll(text, escapeUnprintable(file));
    out.configs.set(node, parsed.config);
    out.files.set(node, escapeUnprintable(file));
    if (parsed.problems.length > 0) {
      out.problems.push(...parsed.problems.map((p) => p.message));
      out.broken.set(node, `${escapeUnprintable(file)} has ${parsed.problems.length === 1 ? "a problem" : `${parsed.problems.length} problems`} (listed above), so wg-quick would refuse or misread it`);
    }
  }
  return out;
}

/** The folder's configs, or every problem of every file at once (lab --dir runs only what parses). */
export function readConfigDir(dir: string): Map<string, WgQuickConfig> {
  return readCleanConfigFolder(dir).configs;
}

/** The folder, or every problem of every file at once. */
export function readCleanConfigFolder(dir: string): ConfigFolder {
  const folder = readConfigFolder(dir);
  if (folder.problems.length > 0) {
    const n = folder.problems.length;
    throw new ProblemsError(folder.problems, `${n} problem${n === 1 ? "" : "s"} in ${quote(dir)}; fix ${n === 1 ? "it" : "them"} and run again`);
  }
  return folder;
}
