/**
 * The ping matrix in batches: one fping per source namespace pings every other node at once,
 * instead of one `ping` process per ordered pair (175 s for 96 nodes). fping does not show a
 * reply's TTL, so hops are measured the other way: a request sent with TTL h reaches a node
 * h hops away and no further (every forwarding node takes one off), so the smallest h that
 * gets an answer is the route's length. A pair's hops are those of its reply, the route from
 * `to` back to `from`, as `ping` reports them; that route is the other pair's request route,
 * and it works whenever the pair does.
 */
import { mapLimited, run } from "./exec";
import type { PairResult, PingMatrix, PingTarget } from "./ping";

export interface BatchOptions {
  /** How long to wait for each reply. */
  timeoutMs: number;
  /** Echo requests per target for reachability and the round trip; the first may wait for a handshake. */
  count: number;
  /** fping processes at once. */
  concurrency: number;
  /** Longest route probed for hops; longer ones are reported as that many. */
  maxHops: number;
}

/** fping -C output: `10.50.0.1 : 0.10 - 0.09` per target, one field per request. */
export function parseFpingCounts(output: string): Map<string, (number | undefined)[]> {
  const out = new Map<string, (number | undefined)[]>();
  for (const line of output.split("\n")) {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})\s+:\s+([-\d.\s]+)$/.exec(line.trim());
    if (!m) continue;
    out.set(m[1] as string, (m[2] as string).trim().split(/\s+/).map((f) => (f === "-" ? undefined : Number(f))));
  }
  return out;
}

async function fping(namespace: string, addresses: readonly string[], count: number, timeoutMs: number, ttl?: number): Promise<Map<string, (number | undefined)[]>> {
  if (addresses.length === 0) return new Map();
  const args = ["netns", "exec", namespace, "fping", "-q", "-C", String(count), "-t", String(timeoutMs), "-p", String(Math.max(50, Math.min(timeoutMs, 500))), "-i", "2", "-B", "1", "-r", "0"];
  if (ttl !== undefined) args.push("-H", String(ttl));
  // fping prints its results on stderr and exits non-zero when any target did not answer.
  const r = await run("ip", [...args, ...addresses], { allowFailure: true, timeoutMs: timeoutMs * (count + 2) + 10_000 });
  return parseFpingCounts(`${r.stderr}\n${r.stdout}`);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export async function pingMatrixBatched(targets: PingTarget[], opts: BatchOptions): Promise<PingMatrix> {
  const started = Date.now();
  const addressed = targets.filter((t) => t.address !== undefined);
  const key = (from: string, to: string) => `${from}\u0000${to}`;
  // Reachability and round trips: the median of the replies after the first (which may have
  // waited for a handshake). Pairs that did not answer are asked again, twice, more patiently:
  // on a busy machine a hundred wireguard-go processes answer late.
  const times = new Map<string, number[]>();
  let open = targets.flatMap((from) => addressed.filter((to) => to !== from).map((to) => [from, to] as const));
  for (let attempt = 0; attempt < 3 && open.length > 0; attempt++) {
    const bySource = groupBySource(open);
    await mapLimited([...bySource.entries()], opts.concurrency, async ([from, tos]) => {
      const got = await fping(from.namespace, tos.map((t) => t.address as string), opts.count, opts.timeoutMs * (attempt + 1));
      for (const to of tos) {
        const replies = (got.get(to.address as string) ?? []).filter((v): v is number => v !== undefined);
        if (replies.length > 0) times.set(key(from.node, to.node), replies);
      }
    });
    open = open.filter(([from, to]) => !times.has(key(from.node, to.node)));
  }
  // Route lengths, request by request: round h asks each source's unresolved targets with TTL h.
  // A probe that falls short gets no answer, so each round waits out a timeout: a few times the
  // slowest round trip those targets showed, not the general one.
  const routeHops = new Map<string, number>();
  let unresolved = targets.flatMap((from) => targets.filter((to) => to !== from && times.has(key(from.node, to.node))).map((to) => [from, to] as const));
  for (let h = 1; h <= opts.maxHops && unresolved.length > 0; h++) {
    await mapLimited([...groupBySource(unresolved).entries()], opts.concurrency, async ([from, tos]) => {
      const slowest = Math.max(...tos.map((to) => Math.max(...(times.get(key(from.node, to.node)) ?? [0]))));
      const timeout = Math.min(opts.timeoutMs, Math.max(100, Math.ceil(3 * slowest) + 50));
      const got = await fping(from.namespace, tos.map((t) => t.address as string), 1, timeout, h);
      for (const to of tos) if ((got.get(to.address as string) ?? []).some((v) => v !== undefined)) routeHops.set(key(from.node, to.node), h);
    });
    unresolved = unresolved.filter(([from, to]) => !routeHops.has(key(from.node, to.node)));
  }
  for (const [from, to] of unresolved) routeHops.set(key(from.node, to.node), opts.maxHops);
  const pairs: PairResult[] = [];
  for (const from of targets) {
    for (const to of targets) {
      if (from === to) continue;
      const replies = times.get(key(from.node, to.node)) ?? [];
      const ok = replies.length > 0;
      const rtt = replies.length > 1 ? median(replies.slice(1)) : replies[0];
      // The reply's route; the request's when the reply's probe was lost, as it is the same length on a planned mesh.
      const hops = ok ? (routeHops.get(key(to.node, from.node)) ?? routeHops.get(key(from.node, to.node))) : undefined;
      pairs.push({ from: from.node, to: to.node, reachable: ok && hops !== undefined, ...(ok && hops !== undefined ? { hops } : {}), ...(rtt !== undefined ? { rttMs: rtt } : {}), attempts: opts.count });
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
