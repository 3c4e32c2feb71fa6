/**
 * The bench's JSON file: written to a temporary file beside the target and renamed over it,
 * and only ever replacing a file the bench wrote itself (it says so in `writtenBy`).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

export const WRITTEN_BY = "wg-mesh bench";

export class OutputRefused extends Error {}

export function writeBenchJson(file: string, doc: object): string {
  const target = resolve(file);
  if (existsSync(target)) {
    let mine = false;
    try {
      mine = (JSON.parse(readFileSync(target, "utf8")) as { writtenBy?: unknown }).writtenBy === WRITTEN_BY;
    } catch {
      mine = false;
    }
    if (!mine) throw new OutputRefused(`--out ${file}: the file exists and the bench did not write it; give another path or remove it yourself`);
  }
  mkdirSync(dirname(target), { recursive: true });
  const temp = `${target}.tmp-${process.pid}`;
  try {
    writeFileSync(temp, `${JSON.stringify({ writtenBy: WRITTEN_BY, ...doc }, null, 2)}\n`);
    renameSync(temp, target);
  } finally {
    rmSync(temp, { force: true });
  }
  return target;
}
