/**
 * Reachability over the overlay, measured with real pings from inside each node's
 * namespace. Hops come from the reply's TTL: Linux answers with TTL 64 and every node
 * that forwards the reply takes one off, so 64 means a direct peer.
 */
import { mapLimited, run, sleep } from "./exec";

export const REPLY_TTL = 64;

export interface PingTarget {
  node: string;
  namespace: string;
  /** Overlay address (no prefix); undefined when the node has no Address. */
  address?: string;
}

export interface PingReply {
  ttl: number;
  timeMs: number;
}

export interface PairResult {
  from: string;
  to: string;
  reachable: boolean;
  /** Nodes crossed including the destination: 1 = direct peer. */
  hops?: number;
  /** Median overlay round trip of the measured replies. */
  rttMs?: number;
  attempts: number;
}

export interface PingMatrix {
  nodes: string[];
  pairs: PairResult[];
  reachable: number;
  total: number;
  elapsedMs: number;
}

export interface PingMatrixOptions {
  /** Extra attempts for a pair whose ping failed (the first packets wait for handshakes). Default 3. */
  retries?: number;
  /** How long one ping waits for its reply. Default 1000. */
  timeoutMs?: number;
  /** Pause before a retry. Default 200. */
  retryDelayMs?: number;
  /** Pings in flight at once. Default 32: each is a sleeping process, and dead pairs wait out their timeouts side by side. */
  concurrency?: number;
  /** Extra pings per reachable pair for the RTT (after the handshakes are done); 0 = the first reply's time. */
  rttSamples?: number;
}

export function parsePingReplies(output: string): PingReply[] {
  const replies: PingReply[] = [];
  for (const m of output.matchAll(/ttl=(\d+) time=([\d.]+) ms/g)) replies.push({ ttl: Number(m[1]), timeMs: Number(m[2]) });
  return replies;
}

export function hopsFromTtl(ttl: number): number {
  return REPLY_TTL - ttl + 1;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export async function ping(namespace: string, address: string, count: number, timeoutMs: number, intervalS = 0.2): Promise<PingReply[]> {
  const args = ["netns", "exec", namespace, "ping", "-n", "-c", String(count), "-W", (timeoutMs / 1000).toFixed(3)];
  if (count > 1) args.push("-i", String(intervalS));
  const r = await run("ip", [...args, address], { allowFailure: true, timeoutMs: timeoutMs * count + 5000 });
  return parsePingReplies(r.stdout);
}

/**
 * One ping of `size` bytes (the IP packet, ICMP header included) with DF set, as TCP sends once
 * path MTU discovery has run: true when the reply came. A node that would have to fragment it
 * drops it (and the sender then knows the path's MTU), so it shows an MTU that differs along the path.
 */
export async function pingFullSize(namespace: string, address: string, size: number, timeoutMs: number): Promise<boolean> {
  const args = ["netns", "exec", namespace, "ping", "-n", "-c", "1", "-M", "do", "-s", String(size - 28), "-W", (timeoutMs / 1000).toFixed(3), address];
  const r = await run("ip", args, { allowFailure: true, timeoutMs: timeoutMs + 5000 });
  return parsePingReplies(r.stdout).length > 0;
}

async function measurePair(from: PingTarget, to: PingTarget, opts: Required<PingMatrixOptions>): Promise<PairResult> {
  const result: PairResult = { from: from.node, to: to.node, reachable: false, attempts: 0 };
  if (!to.address) return result;
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    if (attempt > 0) await sleep(opts.retryDelayMs);
    result.attempts++;
    const replies = await ping(from.namespace, to.address, 1, opts.timeoutMs);
    const first = replies[0];
    if (!first) continue;
    result.reachable = true;
    result.hops = hopsFromTtl(first.ttl);
    result.rttMs = first.timeMs;
    break;
  }
  if (result.reachable && opts.rttSamples > 0) {
    const samples = await ping(from.namespace, to.address, opts.rttSamples, opts.timeoutMs);
    if (samples.length > 0) result.rttMs = median(samples.map((s) => s.timeMs));
  }
  return result;
}

/** Every ordered pair of distinct targets, in row order. */
export async function pingMatrix(targets: PingTarget[], options: PingMatrixOptions = {}): Promise<PingMatrix> {
  const opts: Required<PingMatrixOptions> = {
    retries: options.retries ?? 3,
    timeoutMs: options.timeoutMs ?? 1000,
    retryDelayMs: options.retryDelayMs ?? 200,
    concurrency: options.concurrency ?? 32,
    rttSamples: options.rttSamples ?? 0,
  };
  const started = Date.now();
  const work = targets.flatMap((from) => targets.filter((to) => to.node !== from.node).map((to) => [from, to] as const));
  const pairs = await mapLimited(work, opts.concurrency, ([from, to]) => measurePair(from, to, opts));
  return {
    nodes: targets.map((t) => t.node),
    pairs,
    reachable: pairs.filter((p) => p.reachable).length,
    total: pairs.length,
    elapsedMs: Date.now() - started,
  };
}
