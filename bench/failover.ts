/**
 * Failover on real WireGuard, as figures: resilient prod with every core node failed in turn while
 * every pair pings (recovery p50, p99 and max over all pairs, time back on the planned paths after
 * the return), then the steady state: minutes on a lossy underlay (5%) with no watchdog switch.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadStackConfig } from "../infra/config";
import { planMesh } from "../infra/plan";
import { configsFromPlan } from "../lab/from-plan";
import { percentile, runFailover, waitForWatchdogsBack } from "../lab/failover";
import { Lab } from "../lab/lab";

export interface FailoverBench {
  mesh: string;
  failures: string[];
  recoveries: number;
  recoveryMs: { p50: number; p99: number; max: number };
  /** Per failure, from the return to every watchdog back on wg0.conf. */
  backOnPrimaryMs: number[];
  notRecovered: number;
  steady: { seconds: number; lossRate: number; switches: number };
}

export async function benchFailover(steadySeconds: number): Promise<FailoverBench> {
  const text = readFileSync(join(__dirname, "..", "Pulumi.prod.yaml"), "utf8").replace(/^( {4}topology: .*)$/m, "$1\n    resilience: node");
  const plan = planMesh(loadStackConfig(text, "Pulumi.prod.yaml"));
  // Figures of no failure are no figures: the edit must have asked for resilience, and got a core.
  if ((plan.resilience?.core.length ?? 0) < 2) throw new Error("bench failover: prod did not plan resilient (no topology line to add resilience: node under?)");
  const input = configsFromPlan(plan);
  const lab = await Lab.up(input.configs, { ...(input.failover ? { failover: input.failover } : {}), impairable: true });
  try {
    await lab.waitForHandshakes(20_000);
    const core = plan.resilience?.core ?? [];
    const recoveries: number[] = [];
    const back: number[] = [];
    let notRecovered = 0;
    for (const node of core) {
      const run = await runFailover(lab, { kind: "node", node }, { outageMs: 15_000, afterMs: 30_000 });
      for (const p of run.pairs) if (p.lost > 0 && p.recoveryMs !== undefined) recoveries.push(p.recoveryMs);
      notRecovered += run.notRecovered.length;
      if (run.backOnPrimaryMs !== undefined) back.push(run.backOnPrimaryMs);
      await waitForWatchdogsBack(lab, 30_000);
    }
    recoveries.sort((a, b) => a - b);
    await lab.setLoss(0.05);
    const started = Date.now();
    await new Promise((done) => setTimeout(done, steadySeconds * 1000));
    const switches = lab.nodeInfo().reduce((n, x) => n + lab.watchdogLog(x.name).filter((l) => l.atMs >= started && /failover: /.test(l.line)).length, 0);
    return {
      mesh: "prod, resilience: node",
      failures: core.map((c) => `${c} down`),
      recoveries: recoveries.length,
      recoveryMs: recoveries.length > 0 ? { p50: percentile(recoveries, 0.5), p99: percentile(recoveries, 0.99), max: recoveries.at(-1) as number } : { p50: 0, p99: 0, max: 0 },
      backOnPrimaryMs: back,
      notRecovered,
      steady: { seconds: steadySeconds, lossRate: 0.05, switches },
    };
  } finally {
    lab.down();
  }
}
