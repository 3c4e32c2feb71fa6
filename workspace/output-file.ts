/**
 * Writing one generated file (a picture) without ever losing someone's work: the content goes
 * to a temporary file beside the target and is moved into place only when complete, and an
 * existing file is replaced only when it carries wg-mesh's mark.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, lstatSync, openSync, readSync, renameSync, rmSync, statSync, writeSync, type Stats } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { UserError } from "../infra/errors";

export interface OutputFileOptions {
  /** True when the head of an existing file shows wg-mesh wrote it. */
  isOurs: (head: string) => boolean;
  /** How much of an existing file `isOurs` sees. */
  headBytes?: number;
}

export type WriteOutcome = "created" | "replaced" | "unchanged";

const HEAD_BYTES = 4096;

/** Quoted with control characters escaped, as every value in a message is. */
function quote(value: string): string {
  return JSON.stringify(value);
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new UserError(`cannot look at ${quote(path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function readHead(path: string, bytes: number): string {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/**
 * Refuses, in one line, a target that is a folder, a link or a special file, one whose folder
 * is missing, or an existing file wg-mesh did not write. Returns whether the file exists.
 */
export function checkOutputFile(target: string, options: OutputFileOptions): boolean {
  const path = resolve(target);
  const dir = dirname(path);
  const dirStat = statOrUndefined(dir);
  if (!dirStat) throw new UserError(`${quote(target)}: there is no folder ${quote(dir)}; create it first or name a file in an existing folder`);
  if (!statSync(dir).isDirectory()) throw new UserError(`${quote(target)}: ${quote(dir)} is not a folder; name a file in a folder`);
  const st = statOrUndefined(path);
  if (!st) return false;
  if (st.isDirectory()) throw new UserError(`${quote(target)} is a folder; name a file, for example ${quote(join(target, "mesh.svg"))}`);
  if (st.isSymbolicLink()) throw new UserError(`${quote(target)} is a symbolic link; refusing to replace it: name a plain file`);
  if (!st.isFile()) throw new UserError(`${quote(target)} is not a regular file; refusing to replace it: name a plain file`);
  let head: string;
  try {
    head = readHead(path, options.headBytes ?? HEAD_BYTES);
  } catch (err) {
    throw new UserError(`cannot read ${quote(target)} to check who wrote it: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!options.isOurs(head)) throw new UserError(`${quote(target)} was not written by wg-mesh (it lacks wg-mesh's mark); refusing to overwrite it: choose another name or move the file away`);
  return true;
}

/** Writes `content` to `target` whole or not at all; see checkOutputFile for what is refused. */
export function writeOutputFile(target: string, content: string, options: OutputFileOptions): WriteOutcome {
  const path = resolve(target);
  const exists = checkOutputFile(target, options);
  if (exists && readHead(path, Buffer.byteLength(content) + 1) === content) return "unchanged";
  const tmp = join(dirname(path), `.${basename(path)}.wgmesh-${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
  try {
    let fd: number;
    try {
      fd = openSync(tmp, "wx", 0o644);
    } catch (err) {
      throw new UserError(`cannot write in ${quote(dirname(path))}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (exists) {
      renameSync(tmp, path);
      return "replaced";
    }
    // A hard link fails if the name was taken meanwhile, so a file that appeared since the check is never replaced.
    try {
      linkSync(tmp, path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST") throw new UserError(`${quote(target)} appeared while wg-mesh was writing it; nothing was replaced: run the command again`);
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS" && code !== "EXDEV") throw err;
      renameSync(tmp, path);
    }
    return "created";
  } finally {
    rmSync(tmp, { force: true });
  }
}
