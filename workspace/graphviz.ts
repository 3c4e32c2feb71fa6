/** Running Graphviz's `dot` (Debian's graphviz, installed by scripts/setup.sh) to lay out a diagram. */
import { spawnSync } from "node:child_process";
import { UserError } from "../infra/errors";

export function dotToSvg(dot: string): string {
  const r = spawnSync("dot", ["-Tsvg"], { input: dot, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.error) {
    if ((r.error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new UserError("Graphviz's dot is not installed, so no diagram can be drawn; install it (apt-get install graphviz, or bash scripts/setup.sh) or use --mermaid");
    }
    throw new UserError(`dot could not be run: ${r.error.message}`);
  }
  if (r.status !== 0) throw new Error(`dot failed on wg-mesh's own graph (a bug): ${(r.stderr || "").trim().split("\n")[0] ?? ""}`);
  return r.stdout;
}

/** "2.43.0", as `dot -V` and the SVG's own comment say it. */
export function dotVersion(): string | undefined {
  const r = spawnSync("dot", ["-V"], { encoding: "utf8" });
  return /version (\S+)/.exec(`${r.stderr ?? ""}${r.stdout ?? ""}`)?.[1];
}
