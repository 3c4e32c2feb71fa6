/**
 * A failure on the lab, measured: every ordered pair pings at a steady rate (batch-ping.py --steady,
 * one per namespace), one node dies or one link's UDP is cut, and later comes back. Per pair: packets
 * lost while it was down, the time from the failure to the pair answering for good, and packets
 * lost after the return; and from the watchdogs' logs, who switched when, and when the last one
 * went back to its wg0.conf (every pair back on its planned path).
 */
import type { Failure } from "../infra/simulate/failures";
import { BATCH_PINGER, pingerInterpreter } from "./batch-ping";
import { LabError } from "./errors";
import { mapLimited, run, sleep } from "./exec";
import type { Lab } from "./lab";

export interface FailoverRunOptions {
  /** Between two requests of one pair. Default 250 ms. */
  intervalMs?: number;
  /** Pinging before the failure. Default 3 s. */
  beforeMs?: number;
  /** How long the failure lasts. Default 20 s. */
  outageMs?: number;
  /** Pinging after the node or link is back. Default 45 s (the watchdog trusts a peer again after 15 s of answers). */
  afterMs?: number;
  /** A request not answered within this is lost. Default 1 s. */
  timeoutMs?: number;
  onProgress?: (message: string) => void;
}

export interface PairRecovery {
  from: string;
  to: string;
  /** Requests sent while the failure lasted that got no answer. */
  lost: number;
  /** From the failure to the first answer after the last loss; undefined when the pair never answered again before the return. */
  recoveryMs?: number;
  /** Requests lost after the return (a dead node's own pairs wait for its neighbours to trust it again). */
  lostAfterReturn: number;
}

export interface Switch {
  node: string;
  atMs: number;
  line: string;
}

export interface FailoverRun {
  failure: Failure;
  failedAtMs: number;
  restoredAtMs: number;
  /** Every ordered pair of nodes alive during the failure. */
  pairs: PairRecovery[];
  /** The pairs that lost nothing during the failure are counted, not listed. */
  untouched: number;
  switches: Switch[];
  /** From the return to the last watchdog going back to wg0.conf; undefined when none had switched. */
  backOnPrimaryMs?: number;
  /** Watchdogs still switched away at the end of the run. */
  stillSwitched: string[];
  recovery: { p50: number; p99: number; max: number } | undefined;
  /** Pairs that had not answered again by the return. */
  notRecovered: { from: string; to: string }[];
}

interface Sample {
  sentMs: number;
  answered: boolean;
}

/** The steady pinger's lines, `ADDRESS ROUND SENT_MS TTL RTT_MS`, per address in the order sent. */
export function parseSteadyPings(output: string): Map<string, Sample[]> {
  const out = new Map<string, Sample[]>();
  for (const m of output.matchAll(/^(\d{1,3}(?:\.\d{1,3}){3}) (\d+) (\d+) (\d+|-) ([\d.]+|-)$/gm)) {
    const list = out.get(m[1] as string) ?? [];
    list.push({ sentMs: Number(m[3]), answered: m[4] !== "-" });
    out.set(m[1] as string, list);
  }
  for (const list of out.values()) list.sort((p, q) => p.sentMs - q.sentMs);
  return out;
}

/** The q-quantile of sorted values (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

/** Nodes whose watchdog routes around a peer now: its last switch away has no switch back after it. */
export function switchedNodes(lab: Lab): string[] {
  return lab
    .nodeInfo()
    .filter((n) => {
      const log = lab.watchdogLog(n.name);
      const lastAway = log.filter((l) => /not answering for/.test(l.line)).at(-1);
      const lastBack = log.filter((l) => /back to /.test(l.line)).at(-1);
      return lastAway !== undefined && (lastBack === undefined || lastBack.atMs < lastAway.atMs);
    })
    .map((n) => n.name);
}

/** Waits until no watchdog routes around anything (after a failure ends); false if they still do at the deadline. */
export async function waitForWatchdogsBack(lab: Lab, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (switchedNodes(lab).length === 0) return true;
    if (Date.now() > deadline) return false;
    await sleep(250);
  }
}

/** One failure from start to end; the lab must run with failover tables and be impairable for a link. */
export async function runFailover(lab: Lab, failure: Failure, opts: FailoverRunOptions = {}): Promise<FailoverRun> {
  const intervalMs = opts.intervalMs ?? 250;
  const beforeMs = opts.beforeMs ?? 3000;
  const outageMs = opts.outageMs ?? 20_000;
  const afterMs = opts.afterMs ?? 45_000;
  const timeoutMs = opts.timeoutMs ?? 1000;
  const python = pingerInterpreter();
  if (!python) throw new LabError("lab --fail pings with lab/batch-ping.py, which needs python3; install it (apt-get install python3)");
  const nodes = lab.nodeInfo().filter((n) => n.overlay !== undefined);
  const byAddress = new Map(nodes.map((n) => [n.overlay as string, n.name]));
  if (failure.kind === "node" && !nodes.some((n) => n.name === failure.node)) throw new LabError(`lab --fail: no node named ${failure.node}`);
  const durationMs = beforeMs + outageMs + afterMs;
  const pinging = mapLimited(nodes, nodes.length, async (n) => {
    const targets = nodes.filter((t) => t !== n).map((t) => t.overlay as string);
    const args = ["netns", "exec", n.namespace, ...python, BATCH_PINGER, "--steady", (intervalMs / 1000).toFixed(3), (durationMs / 1000).toFixed(3), (timeoutMs / 1000).toFixed(3), ...targets];
    const r = await run("ip", args, { timeoutMs: durationMs + timeoutMs + 60_000 });
    return [n.name, parseSteadyPings(r.stdout)] as const;
  });
  await sleep(beforeMs);
  const label = failure.kind === "node" ? `${failure.node} down` : `${failure.a}--${failure.b} cut`;
  const failedAtMs = Date.now();
  if (failure.kind === "node") await lab.stopNode(failure.node);
  else await lab.cutLink(failure.a, failure.b);
  opts.onProgress?.(`${label}`);
  await sleep(outageMs);
  const restoredAtMs = Date.now();
  if (failure.kind === "node") await lab.startNode(failure.node);
  else await lab.cutLink(failure.a, failure.b, false);
  opts.onProgress?.(`${failure.kind === "node" ? `${failure.node} back` : `${failure.a}--${failure.b} restored`}`);
  const results = new Map(await pinging);

  const pairs: PairRecovery[] = [];
  let untouched = 0;
  const notRecovered: { from: string; to: string }[] = [];
  const recoveries: number[] = [];
  for (const [from, byTarget] of results) {
    for (const [address, samples] of byTarget) {
      const to = byAddress.get(address) as string;
      const during = samples.filter((s) => s.sentMs >= failedAtMs && s.sentMs < restoredAtMs);
      const after = samples.filter((s) => s.sentMs >= restoredAtMs);
      const lostAfterReturn = after.filter((s) => !s.answered).length;
      const survives = failure.kind === "link" || (from !== failure.node && to !== failure.node);
      // A surviving pair nobody pinged during the failure would count as untouched: refuse to measure nothing.
      if (survives && during.length === 0) throw new LabError(`lab: ${from} -> ${to} was not pinged during the failure; nothing to measure`);
      if (!survives) {
        pairs.push({ from, to, lost: 0, lostAfterReturn });
        continue;
      }
      const lost = during.filter((s) => !s.answered).length;
      if (lost === 0) {
        untouched++;
        pairs.push({ from, to, lost, recoveryMs: 0, lostAfterReturn });
        continue;
      }
      const lastLoss = during.reduce((at, s, i) => (s.answered ? at : i), -1);
      const answer = during.slice(lastLoss + 1).find((s) => s.answered);
      const pair: PairRecovery = { from, to, lost, lostAfterReturn };
      if (answer) {
        pair.recoveryMs = Math.max(0, answer.sentMs - failedAtMs);
        recoveries.push(pair.recoveryMs);
      } else notRecovered.push({ from, to });
      pairs.push(pair);
    }
  }
  const switches: Switch[] = nodes.flatMap((n) => lab.watchdogLog(n.name).filter((l) => l.atMs >= failedAtMs - 1000 && /failover: /.test(l.line)).map((l) => ({ node: n.name, atMs: l.atMs, line: l.line })));
  switches.sort((p, q) => p.atMs - q.atMs);
  const backs = switches.filter((s) => s.atMs >= restoredAtMs && /back to /.test(s.line));
  const stillSwitched = switchedNodes(lab);
  recoveries.sort((p, q) => p - q);
  return {
    failure,
    failedAtMs,
    restoredAtMs,
    pairs,
    untouched,
    switches,
    ...(backs.length > 0 ? { backOnPrimaryMs: Math.max(...backs.map((b) => b.atMs)) - restoredAtMs } : {}),
    stillSwitched,
    recovery: recoveries.length > 0 ? { p50: percentile(recoveries, 0.5), p99: percentile(recoveries, 0.99), max: recoveries.at(-1) as number } : undefined,
    notRecovered,
  };
}

/** The promise the mesh makes: a surviving pair answers again within this. */
export const RECOVERY_PROMISE_MS = 10_000;
/** And every pair is back on its planned path within this of the node's (or link's) return. */
export const BACK_ON_PRIMARY_PROMISE_MS = 60_000;

/** "hkg" or "hkg-nrt" (a link: both ends' names, either order). */
export function parseFailTarget(text: string, nodes: readonly string[]): Failure {
  if (nodes.includes(text)) return { kind: "node", node: text };
  for (let i = 1; i < text.length - 1; i++) {
    if (text[i] !== "-") continue;
    const a = text.slice(0, i);
    const b = text.slice(i + 1);
    if (nodes.includes(a) && nodes.includes(b) && a !== b) return { kind: "link", a: a < b ? a : b, b: a < b ? b : a };
  }
  throw new LabError(`lab --fail ${JSON.stringify(text)}: expected a node (${nodes.slice(0, 8).join(", ")}${nodes.length > 8 ? ", ..." : ""}) or two linked nodes as a-b`);
}

const secs = (msValue: number): string => `${(msValue / 1000).toFixed(1)} s`;

/**
 * One failure's report, with the simulator's prediction beside it when there is one: `predicted`
 * maps "from>to" to the path the pair takes under the failure, or null for a pair it says is lost.
 */
export function formatFailoverRun(r: FailoverRun, predicted?: ReadonlyMap<string, string[] | null>): { lines: string[]; ok: boolean } {
  const label = r.failure.kind === "node" ? `${r.failure.node} down` : `${r.failure.a}--${r.failure.b} cut`;
  const surviving = r.pairs.filter((p) => r.failure.kind !== "node" || (p.from !== r.failure.node && p.to !== r.failure.node));
  const touched = surviving.filter((p) => p.lost > 0);
  const expectLost = (p: { from: string; to: string }): boolean => predicted?.get(`${p.from}>${p.to}`) === null;
  const late = touched.filter((p) => !expectLost(p) && (p.recoveryMs === undefined || p.recoveryMs > RECOVERY_PROMISE_MS));
  const surprise = predicted ? r.notRecovered.filter((p) => !expectLost(p)) : [];
  // A pair the simulator calls lost must stay lost until the return.
  const unexpectedAnswer = predicted ? surviving.filter((p) => expectLost(p) && (p.lost === 0 || p.recoveryMs !== undefined)) : [];
  const lines = [
    `${label} for ${secs(r.restoredAtMs - r.failedAtMs)}: ${touched.length} of ${surviving.length} surviving pairs lost packets` +
      (r.recovery ? `; answered again after p50 ${secs(r.recovery.p50)}, p99 ${secs(r.recovery.p99)}, max ${secs(r.recovery.max)}` : "") +
      (r.notRecovered.length > 0 ? `; ${r.notRecovered.length} never answered before the return` : ""),
  ];
  if (predicted) {
    const lostPredicted = [...predicted.values()].filter((v) => v === null).length;
    lines.push(`  simulator: ${lostPredicted} pairs lost under this failure; ${surprise.length + unexpectedAnswer.length === 0 ? "the lab agrees" : `the lab disagrees on ${surprise.length + unexpectedAnswer.length} pairs`}`);
  }
  const away = r.switches.filter((s) => /not answering for/.test(s.line));
  if (away.length > 0) {
    lines.push(`  watchdogs: ${[...new Set(away.map((s) => s.node))].join(", ")} switched ${secs(Math.min(...away.map((s) => s.atMs)) - r.failedAtMs)} to ${secs(Math.max(...away.map((s) => s.atMs)) - r.failedAtMs)} after the failure`);
  }
  if (r.backOnPrimaryMs !== undefined) lines.push(`  every watchdog back on wg0.conf ${secs(r.backOnPrimaryMs)} after the return (every pair on its planned path)`);
  if (r.stillSwitched.length > 0) lines.push(`  still switched at the end: ${r.stillSwitched.join(", ")}`);
  for (const p of touched.sort((x, y) => (y.recoveryMs ?? Infinity) - (x.recoveryMs ?? Infinity) || (x.from < y.from ? -1 : 1))) {
    const fate = p.recoveryMs === undefined ? (expectLost(p) ? "lost until the return, as the simulator says" : "NOT answered again before the return") : `answered again after ${secs(p.recoveryMs)}`;
    lines.push(`    ${p.from} -> ${p.to}: ${p.lost} lost, ${fate}${p.lostAfterReturn > 0 ? `; ${p.lostAfterReturn} lost after the return` : ""}`);
  }
  for (const p of surprise) lines.push(`  DISAGREES: ${p.from} -> ${p.to} never answered; the simulator says it survives`);
  for (const p of unexpectedAnswer) lines.push(`  DISAGREES: ${p.from} -> ${p.to} answered; the simulator says it is lost`);
  const backLate = r.backOnPrimaryMs !== undefined && r.backOnPrimaryMs > BACK_ON_PRIMARY_PROMISE_MS;
  return { lines, ok: late.length === 0 && surprise.length === 0 && unexpectedAnswer.length === 0 && !backLate && r.stillSwitched.length === 0 };
}
