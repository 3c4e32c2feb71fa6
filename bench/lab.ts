/**
 * Lab bench: how long a mesh takes on real WireGuard to go from nothing to every ordered
 * pair answering a ping, and to go away again. Needs root (see lab/preflight.ts).
 * Run alone: `tsx bench/lab.ts [N ...]` (hub-and-spoke sample meshes, default 4 12 24);
 * `--json` for one JSON document.
 */
import type { MeshPlan, WgQuickConfig } from "../infra/model";
import { compareWithPlan } from "../lab/from-plan";
import { Lab } from "../lab/lab";
import { labBlocker } from "../lab/preflight";
import { sampleMesh } from "../lab/sample-mesh";

export interface LabBenchResult {
  label: string;
  nodes: number;
  pairs: number;
  reachable: number;
  /** Namespaces, wireguard-go and every config applied. */
  upMs: number;
  /** Then until every link that starts by itself has shaken hands. */
  settleMs: number;
  /** The first ping matrix of every ordered pair (one pinger per node). */
  firstMatrixMs: number;
  /** Pairs of the first matrix whose hops are not the plan's path length (when a plan was given). */
  offPlan?: number;
  /** Then the ping matrix, repeated until every pair answered (or the deadline). */
  matrixMs: number;
  /** From nothing to the last pair answering: up + settle + matrix. */
  allReachableMs: number;
  downMs: number;
}

/** Matrices are repeated for at most this long before the bench reports what it got. */
const REACHABLE_DEADLINE_MS = 60_000;

/** A hub and N-1 spokes, every third spoke pair directly linked, so the matrix has 1- and 2-hop pairs. */
export function benchMesh(n: number): Record<string, WgQuickConfig> {
  const spokes = Array.from({ length: n - 1 }, (_, i) => `s${i + 1}`);
  const direct: [string, string][] = [];
  for (let i = 0; i + 1 < spokes.length; i += 3) direct.push([spokes[i] as string, spokes[i + 1] as string]);
  return sampleMesh({ hub: "hub", spokes, direct }).configs;
}

export async function benchLab(label: string, configs: Record<string, WgQuickConfig>, plan?: MeshPlan): Promise<LabBenchResult> {
  const started = Date.now();
  const lab = await Lab.up(configs, { concurrency: 16 });
  try {
    const settleStart = Date.now();
    await lab.waitForHandshakes(20_000);
    const matrixStart = Date.now();
    let matrix = await lab.pingMatrix({ settleMs: 0 });
    const firstMatrixMs = Date.now() - matrixStart;
    const offPlan = plan ? compareWithPlan(plan, matrix).length : undefined;
    while (matrix.reachable < matrix.total && Date.now() - started < REACHABLE_DEADLINE_MS) matrix = await lab.pingMatrix({ settleMs: 0 });
    const reachedAt = Date.now();
    const downStart = Date.now();
    lab.down();
    return {
      label,
      nodes: Object.keys(configs).length,
      pairs: matrix.total,
      reachable: matrix.reachable,
      upMs: lab.upMs,
      settleMs: matrixStart - settleStart,
      firstMatrixMs,
      ...(offPlan !== undefined ? { offPlan } : {}),
      matrixMs: reachedAt - matrixStart,
      allReachableMs: reachedAt - started,
      downMs: Date.now() - downStart,
    };
  } finally {
    lab.down();
  }
}

export function assertLabBenchCanRun(): void {
  const blocker = labBlocker();
  if (blocker) throw new Error(`lab bench cannot run here: ${blocker}`);
}

export function formatLabResults(results: LabBenchResult[]): string {
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)}s`;
  const w = Math.max(4, ...results.map((r) => r.label.length));
  return [
    `${"mesh".padEnd(w)}  nodes  reachable  off plan      up  handshakes  1st matrix  all reachable    down`,
    ...results.map(
      (r) =>
        `${r.label.padEnd(w)}  ${String(r.nodes).padStart(5)}  ${`${r.reachable}/${r.pairs}`.padStart(9)}  ${(r.offPlan === undefined ? "-" : String(r.offPlan)).padStart(8)}  ${s(r.upMs).padStart(6)}  ${s(r.settleMs).padStart(10)}  ${s(r.firstMatrixMs).padStart(10)}  ${s(r.allReachableMs).padStart(13)}  ${s(r.downMs).padStart(6)}`,
    ),
  ].join("\n");
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const sizes = args.filter((a) => /^\d+$/.test(a)).map(Number);
  (async () => {
    assertLabBenchCanRun();
    const results: LabBenchResult[] = [];
    for (const n of sizes.length > 0 ? sizes : [4, 12, 24]) results.push(await benchLab(`hub+${n - 1}`, benchMesh(n)));
    return results;
  })().then(
    (results) => process.stdout.write(`${args.includes("--json") ? JSON.stringify(results, null, 2) : formatLabResults(results)}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
