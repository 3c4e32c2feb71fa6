/**
 * wg-mesh's own package.json, read at run time rather than compiled in: it is one folder up from the
 * sources (cli/) and two from the built package (dist/cli/), the nearest package.json either way.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface PackageInfo {
  name: string;
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

export function packageInfo(): PackageInfo {
  for (let dir = dirname(__dirname); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as PackageInfo;
  }
  throw new Error(`wg-mesh's package.json is not above ${__dirname}`);
}

export function packageVersion(): string {
  return packageInfo().version;
}
