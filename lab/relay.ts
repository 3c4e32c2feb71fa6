/**
 * The lab's WAN: a UDP relay run inside the internet namespace (no tc netem here, so
 * delay is made in user space). For a node pair (A, B) it holds two sockets: A's Endpoint
 * for B is socket AB, B's Endpoint for A is socket BA. A datagram arriving on AB leaves
 * from BA towards B after the one-way delay, and the reverse, so each side always sees
 * its peer at one consistent address and WireGuard's endpoint roaming stays put.
 *
 * Control: one JSON request per line on stdin, one JSON answer per line on stdout.
 *   {"seq":1,"op":"link","key":"a|b","a":{"host":"198.18.1.1","port":51820},"b":{...},"oneWayMs":86}
 *   -> {"seq":1,"ok":true,"portForA":40001,"portForB":40002}
 * A second "link" for the same key updates addresses and delay and keeps the sockets.
 *   {"seq":2,"op":"impair","key":"a|b","cut":true}           every datagram of that link dropped
 *   {"seq":3,"op":"impair","lossRate":0.05}                   on every link, each datagram dropped at that rate
 *   -> {"seq":2,"ok":true}
 * Run: node --import tsx lab/relay.ts --bind 198.18.0.2 --tag <lab tag>
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { createInterface } from "node:readline";

interface Address {
  host: string;
  port?: number;
}

interface LinkRequest {
  seq: number;
  op: "link";
  key: string;
  a: Address;
  b: Address;
  oneWayMs: number;
}

interface Held {
  /** process.hrtime.bigint() at which the datagram may leave. */
  due: bigint;
  msg: Buffer;
}

interface Side {
  socket: Socket;
  /** The node behind this side, as configured; replaced by where its packets really come from. */
  node: Address;
  learned?: { host: string; port: number };
  /** Datagrams from this side's node waiting out the link's delay, oldest first. */
  held: Held[];
  timer?: NodeJS.Timeout | NodeJS.Immediate;
}

interface Link {
  a: Side;
  b: Side;
  oneWayMs: number;
  /** Drops every datagram: the UDP between the two nodes is cut. */
  cut: boolean;
}

interface ImpairRequest {
  seq: number;
  op: "impair";
  /** One link, or every link when left out. */
  key?: string;
  cut?: boolean;
  lossRate?: number;
}

/** The share of datagrams dropped on every link (random loss, as on a bad underlay). */
let lossRate = 0;

/** The relay only ever talks to lab underlay addresses (198.18.0.0/15). */
function isLabUnderlay(host: string): boolean {
  return /^198\.1[89]\.\d{1,3}\.\d{1,3}$/.test(host);
}

function argument(name: string): string {
  const i = process.argv.indexOf(name);
  const value = i >= 0 ? process.argv[i + 1] : undefined;
  if (!value) throw new Error(`relay: missing ${name}`);
  return value;
}

const bindHost = argument("--bind");
const links = new Map<string, Link>();

function destinationOf(side: Side): { host: string; port: number } | undefined {
  if (side.learned) return side.learned;
  return side.node.port !== undefined ? { host: side.node.host, port: side.node.port } : undefined;
}

function send(msg: Buffer, to: Side): void {
  const dst = destinationOf(to);
  if (dst && isLabUnderlay(dst.host)) to.socket.send(msg, dst.port, dst.host);
}

/**
 * Sends what is due, then waits for the next. Node's timers tick in whole milliseconds and can
 * fire up to one early, which at a tenth of real delays is a tenth of the link: so a timer
 * only gets within a millisecond of the due time and the rest is waited out turn by turn.
 */
function release(from: Side, to: Side): void {
  from.timer = undefined;
  const now = process.hrtime.bigint();
  while (from.held.length > 0 && (from.held[0] as Held).due <= now) send((from.held.shift() as Held).msg, to);
  const next = from.held[0];
  if (!next) return;
  const waitMs = Number(next.due - now) / 1e6;
  from.timer = waitMs > 1 ? setTimeout(() => release(from, to), Math.floor(waitMs - 1)) : setImmediate(() => release(from, to));
}

/** Packets from `from`'s node arrive on from.socket and leave through to.socket towards `to`'s node. */
function forward(link: Link, from: Side, to: Side): void {
  from.socket.on("message", (msg: Buffer, rinfo: RemoteInfo) => {
    if (!isLabUnderlay(rinfo.address)) return;
    from.learned = { host: rinfo.address, port: rinfo.port };
    if (link.cut || (lossRate > 0 && Math.random() < lossRate)) return;
    if (link.oneWayMs <= 0 && from.held.length === 0) {
      send(msg, to);
      return;
    }
    // One delay per link, so first in is first due: a queue in arrival order is in due order.
    from.held.push({ due: process.hrtime.bigint() + BigInt(Math.round(link.oneWayMs * 1e6)), msg });
    if (from.timer === undefined) release(from, to);
  });
}

function bind(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind({ address: bindHost, port: 0 }, () => {
      socket.off("error", reject);
      // A send error (peer namespace gone) must not end the relay.
      socket.on("error", (err) => process.stderr.write(`relay: ${err.message}\n`));
      resolve(socket);
    });
  });
}

async function handleLink(req: LinkRequest): Promise<Record<string, unknown>> {
  const existing = links.get(req.key);
  if (existing) {
    existing.a.node = req.a;
    existing.b.node = req.b;
    existing.oneWayMs = req.oneWayMs;
    return { portForA: existing.a.socket.address().port, portForB: existing.b.socket.address().port };
  }
  const link: Link = { a: { socket: await bind(), node: req.a, held: [] }, b: { socket: await bind(), node: req.b, held: [] }, oneWayMs: req.oneWayMs, cut: false };
  forward(link, link.a, link.b);
  forward(link, link.b, link.a);
  links.set(req.key, link);
  return { portForA: link.a.socket.address().port, portForB: link.b.socket.address().port };
}

function answer(body: Record<string, unknown>): void {
  if (process.stdout.writable) process.stdout.write(`${JSON.stringify(body)}\n`);
}

// The lab may exit and leave the relay running (`--keep`): a closed stdout must not kill it.
process.stdout.on("error", () => undefined);

function handleImpair(req: ImpairRequest): Record<string, unknown> {
  if (req.lossRate !== undefined) {
    if (!(req.lossRate >= 0 && req.lossRate < 1)) throw new Error(`lossRate ${String(req.lossRate)} is not from 0 to below 1`);
    lossRate = req.lossRate;
  }
  if (req.cut !== undefined) {
    const targets = req.key === undefined ? [...links.values()] : [links.get(req.key)];
    if (targets.some((l) => l === undefined)) throw new Error(`no link ${String(req.key)}`);
    for (const l of targets as Link[]) l.cut = req.cut;
  }
  return {};
}

createInterface({ input: process.stdin }).on("line", (line) => {
  let req: LinkRequest | ImpairRequest;
  try {
    req = JSON.parse(line) as LinkRequest | ImpairRequest;
  } catch {
    answer({ ok: false, error: "not JSON" });
    return;
  }
  if (req.op === "impair") {
    try {
      answer({ seq: req.seq, ok: true, ...handleImpair(req) });
    } catch (err) {
      answer({ seq: req.seq, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
    return;
  }
  if (req.op !== "link") {
    const unknown = req as { seq?: number; op?: unknown };
    answer({ seq: unknown.seq, ok: false, error: `unknown op ${String(unknown.op)}` });
    return;
  }
  handleLink(req).then(
    (ports) => answer({ seq: req.seq, ok: true, ...ports }),
    (err: unknown) => answer({ seq: req.seq, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});

answer({ ready: true });
