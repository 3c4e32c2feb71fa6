/**
 * The ping matrix in batches: one pinger per source namespace sends an echo request to every
 * other node at once, instead of one `ping` process per ordered pair (175 s for 96 nodes).
 * The pinger (batch-ping.py) reports each reply's TTL as ping does, so one request per pair
 * gives reachability, the round trip and the route's length. Debian's batch pingers fall
 * short: fping 5.1 cannot print a reply's TTL (finding hops with TTL-limited rounds took 85 of
 * the 150 s a hundred-node matrix needed), and oping credits a reply to whichever target shares
 * its random identifier and sequence number, which swapped 10 of 9,900 pairs' hops.
 */
import { join } from "node:path";
import { mapLimited, run } from "./exec";
import { LabError } from "./errors";
import { findOnPath } from "./preflight";
import { hopsFromTtl, median, type PairResult, type PingMatrix, type PingReply, type PingTarget } from "./ping";

/** The pinger, run with python3 inside each source namespace. */
export const BATCH_PINGER = join(__dirname, "batch-ping.py");

/**
 * Debian's python3 before any on PATH: the pinger needs only the standard library, and a
 * version manager's shim on PATH (pyenv's is a shell script) costs ten times the interpreter's
 * own start, a hundred times over. Isolated (-I) and without site packages (-S).
 */
export function pingerInterpreter(): string[] | undefined {
  const python = findOnPath("python3", "") ?? findOnPath("python3");
  return python === undefined ? undefined : [python, "-I", "-S"];
}

export interface BatchOptions {
  /** How long each request waits for its reply. */
  timeoutMs: number;
  /** Echo requests per target for reachability and the round trip; the first may wait for a handshake. */
  count: number;
  /** Pingers at once. */
  concurrency: number;
  /** Between one round of requests and the next, when count > 1. */
  intervalMs?: number;
  /** Times a pair that did not answer is asked (default 3, each more patiently). */
  attempts?: number;
}

/** The pinger's lines, `ADDRESS ROUND TTL MS`: the replies per address, in the order they came. */
export function parseBatchReplies(output: string): Map<string, PingReply[]> {
  const out = new Map<string, PingReply[]>();
  for (const m of output.matchAll(/^(\d{1,3}(?:\.\d{1,3}){3}) \d+ (\d+) (\d+(?:\.\d+)?)$/gm)) {
    const address = m[1] as string;
    const reply = { ttl: Number(m[2]), timeMs: Number(m[3]) };
    const list = out.get(address);
    if (list) list.push(reply);
    else out.set(address, [reply]);
  }
  return out;
}

async function batchPing(namespace: string, addresses: readonly string[], count: number, timeoutMs: number, intervalMs: number): Promise<Map<string, PingReply[]>> {
  if (addresses.length === 0) return new Map();
  const python = pingerInterpreter();
  if (!python) throw new LabError("lab: the batched ping matrix runs lab/batch-ping.py, which needs python3; install it (apt-get install python3) or ask for a ping per pair");
  const args = ["netns", "exec", namespace, ...python, BATCH_PINGER, String(count), (intervalMs / 1000).toFixed(3), (timeoutMs / 1000).toFixed(3), ...addresses];
  const r = await run("ip", args, { timeoutMs: Math.max(timeoutMs, intervalMs) * count + 10_000 });
  return parseBatchReplies(r.stdout);
}

export async function pingMatrixBatched(targets: PingTarget[], opts: BatchOptions): Promise<PingMatrix> {
  const started = Date.now();
  const addressed = targets.filter((t) => t.address !== undefined);
  const key = (from: string, to: string) => `${from}\u0000${to}`;
  // Pairs that did not answer are asked again, twice, more patiently: on a busy machine a
  // hundred wireguard-go processes answer late.
  const replies = new Map<string, PingReply[]>();
  const asked = new Map<string, number>();
  let open = targets.flatMap((from) => addressed.filter((to) => to !== from).map((to) => [from, to] as const));
  for (let attempt = 0; attempt < (opts.attempts ?? 3) && open.length > 0; attempt++) {
    await mapLimited([...groupBySource(open).entries()], opts.concurrency, async ([from, tos]) => {
      const got = await batchPing(from.namespace, tos.map((t) => t.address as string), opts.count, opts.timeoutMs * (attempt + 1), opts.intervalMs ?? 200);
      for (const to of tos) {
        asked.set(key(from.node, to.node), attempt + 1);
        const answered = got.get(to.address as string);
        if (answered && answered.length > 0) replies.set(key(from.node, to.node), answered);
      }
    });
    open = open.filter(([from, to]) => !replies.has(key(from.node, to.node)));
  }
  const pairs: PairResult[] = [];
  for (const from of targets) {
    for (const to of targets) {
      if (from === to) continue;
      const got = replies.get(key(from.node, to.node));
      const first = got?.[0];
      const attempts = asked.get(key(from.node, to.node)) ?? 0;
      if (!got || !first) {
        pairs.push({ from: from.node, to: to.node, reachable: false, attempts });
        continue;
      }
      // The first reply may have waited for a handshake: the round trip is the later ones' median.
      const rttMs = got.length > 1 ? median(got.slice(1).map((r) => r.timeMs)) : first.timeMs;
      pairs.push({ from: from.node, to: to.node, reachable: true, hops: hopsFromTtl(first.ttl), rttMs, attempts });
    }
  }
  const reachable = pairs.filter((p) => p.reachable).length;
  return { nodes: targets.map((t) => t.node), pairs, reachable, total: pairs.length, elapsedMs: Date.now() - started };
}

function groupBySource(pairs: readonly (readonly [PingTarget, PingTarget])[]): Map<PingTarget, PingTarget[]> {
  const out = new Map<PingTarget, PingTarget[]>();
  for (const [from, to] of pairs) {
    const list = out.get(from);
    if (list) list.push(to);
    else out.set(from, [to]);
  }
  return out;
}
