/**
 * Reading a folder of wg-quick files someone wrote: `DIR/<node>.conf` or
 * `DIR/<node>/wg0.conf`, each node named by its file or folder. The only I/O the lint and
 * `lab --dir` need; everything after it is pure.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { WgQuickConfig } from "../infra/model";
import { parseWgQuick } from "../infra/wgquick";
import { UserError } from "../infra/errors";

const LAYOUT = "DIR/<node>.conf or DIR/<node>/wg0.conf";

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** node name -> file, sorted by node name so every run reads the same order. */
function configFiles(dir: string): [string, string][] {
  let entries;
  try {
    if (!statSync(dir).isDirectory()) throw new UserError(`${dir} is a file, not a folder; give a folder of wg-quick files (${LAYOUT})`);
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if (err instanceof UserError) throw err;
    if (errorCode(err) === "ENOENT") throw new UserError(`${dir}: no such folder; give a folder of wg-quick files (${LAYOUT})`);
    throw new UserError(`${dir}: cannot read the folder (${errorCode(err)})`);
  }
  const found = new Map<string, string>();
  const add = (node: string, file: string): void => {
    const other = found.get(node);
    if (other) throw new UserError(`${dir}: node ${node} has two configs, ${other} and ${file}; keep one`);
    found.set(node, file);
  };
  for (const e of [...entries].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))) {
    const path = join(dir, e.name);
    if (e.name.endsWith(".conf") && e.name.length > ".conf".length && isFile(path)) add(e.name.slice(0, -".conf".length), path);
    else if (e.isDirectory() && isFile(join(path, "wg0.conf"))) add(e.name, join(path, "wg0.conf"));
  }
  if (found.size === 0) throw new UserError(`${dir}: no wg-quick files found; expected ${LAYOUT}`);
  return [...found.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export function readConfigDir(dir: string): Record<string, WgQuickConfig> {
  const configs: Record<string, WgQuickConfig> = {};
  for (const [node, file] of configFiles(dir)) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new UserError(`${file}: cannot read it (${errorCode(err)})`);
    }
    try {
      configs[node] = parseWgQuick(text, file);
    } catch (err) {
      throw new UserError(err instanceof Error ? err.message : String(err));
    }
  }
  return configs;
}
