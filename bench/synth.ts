/**
 * `wgmesh synth` (the real stack program under Pulumi's mocks) on a generated stack, in a
 * child process in a temporary project, with the default heap: wall time, peak memory, and
 * whether it finished.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { worldMeshConfig } from "./world-mesh";

export interface SynthFigures {
  nodes: number;
  ok: boolean;
  seconds: number;
  peakMb: number;
  /** The last line of a failure (out of memory, deadline). */
  failure?: string;
  resources?: number;
}

export function benchSynth(nodes: number, timeoutMs: number): SynthFigures {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-bench-synth-"));
  try {
    writeFileSync(join(dir, "Pulumi.yaml"), "name: wg-mesh\nruntime: nodejs\n");
    writeFileSync(join(dir, "Pulumi.bench.yaml"), stringify({ config: { "wg-mesh:mesh": worldMeshConfig(nodes, { topology: "auto" }) } }));
    const bin = join(__dirname, "..", "cli", "bin.js");
    const r = spawnSync("/usr/bin/time", ["-f", "wgmesh-bench-time %e %M", process.execPath, bin, "synth", "--stack", "bench", "--json"], {
      cwd: dir,
      encoding: "utf8",
      timeout: timeoutMs,
      maxBuffer: 512 * 1024 * 1024,
    });
    const m = /wgmesh-bench-time ([\d.]+) (\d+)/.exec(r.stderr ?? "");
    const seconds = m ? Number(m[1]) : timeoutMs / 1000;
    const peakMb = m ? Math.round(Number(m[2]) / 1024) : 0;
    if (r.status === 0) {
      let resources: number | undefined;
      try {
        resources = (JSON.parse(r.stdout) as { total?: number }).total;
      } catch {
        resources = undefined;
      }
      return { nodes, ok: true, seconds, peakMb, ...(resources !== undefined ? { resources } : {}) };
    }
    const lines = (r.stderr ?? "").split("\n").filter((l) => l.trim() && !l.startsWith("wgmesh-bench-time"));
    const oom = lines.find((l) => /heap out of memory|Allocation failed/.test(l));
    const failure = r.error ? `not done after ${timeoutMs / 1000}s` : (oom ?? lines.at(-1) ?? `exit ${r.status}`);
    return { nodes, ok: false, seconds, peakMb, failure: failure.slice(0, 160) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
