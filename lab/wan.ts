/**
 * The lab side of the WAN relay (relay.ts): starts it in the internet namespace and asks
 * it for a socket pair per node pair that has a round-trip time.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { LabError } from "./errors";
import { tool } from "./exec";
import { RELAY_ADDRESS } from "./naming";

export interface RelayNodeAddress {
  host: string;
  port?: number;
}

export interface RelayPorts {
  portForA: number;
  portForB: number;
}

interface Pending {
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
}

const REPO_ROOT = resolve(__dirname, "..");

/** The relay as node runs it: relay.ts through tsx from the sources, relay.js from the built package. */
function relayScript(): string[] {
  return extname(__filename) === ".ts" ? ["--import", "tsx", join(__dirname, "relay.ts")] : [join(__dirname, "relay.js")];
}
const START_TIMEOUT_MS = 15_000;

export class WanRelay {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly logFile: string,
  ) {}

  get pid(): number {
    return this.child.pid as number;
  }

  /** `tag` goes on the command line so teardown can find the relay by the lab's name. */
  static async start(namespace: string, workDir: string, tag: string, onSpawn: (child: ChildProcess) => void): Promise<WanRelay> {
    const logFile = join(workDir, "relay.log");
    const log = openSync(logFile, "a", 0o600);
    const args = ["netns", "exec", namespace, process.execPath, ...relayScript(), "--bind", RELAY_ADDRESS, "--tag", tag];
    // Detached: a Ctrl-C at the terminal must reach the lab (which tears down in order), not the relay directly.
    const child = spawn(tool("ip"), args, { cwd: REPO_ROOT, detached: true, stdio: ["pipe", "pipe", log] });
    closeSync(log);
    if (child.pid === undefined) throw new LabError("lab: could not start the WAN relay");
    onSpawn(child);
    const relay = new WanRelay(child, logFile);
    await relay.waitReady();
    return relay;
  }

  private waitReady(): Promise<void> {
    return new Promise((resolveReady, rejectReady) => {
      const timer = setTimeout(() => rejectReady(new LabError(`lab: the WAN relay did not start within ${START_TIMEOUT_MS / 1000}s${this.logTail()}`)), START_TIMEOUT_MS);
      const lines = createInterface({ input: this.child.stdout as NodeJS.ReadableStream });
      lines.on("line", (line) => {
        let msg: { ready?: boolean; seq?: number; ok?: boolean; error?: string } & Record<string, unknown>;
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          return;
        }
        if (msg.ready) {
          clearTimeout(timer);
          resolveReady();
          return;
        }
        const p = msg.seq !== undefined ? this.pending.get(msg.seq) : undefined;
        if (!p || msg.seq === undefined) return;
        this.pending.delete(msg.seq);
        if (msg.ok) p.resolve(msg);
        else p.reject(new LabError(`lab: WAN relay: ${msg.error ?? "no answer"}`));
      });
      this.child.once("exit", (code) => {
        this.exited = true;
        clearTimeout(timer);
        const err = new LabError(`lab: the WAN relay exited (code ${code ?? "?"})${this.logTail()}`);
        rejectReady(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
    });
  }

  private logTail(): string {
    try {
      const last = readFileSync(this.logFile, "utf8").trim().split("\n").pop();
      return last ? `: ${last}` : "";
    } catch {
      return "";
    }
  }

  private request(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.exited) return Promise.reject(new LabError(`lab: the WAN relay is not running${this.logTail()}`));
    const seq = ++this.seq;
    return new Promise((resolveRequest, rejectRequest) => {
      this.pending.set(seq, { resolve: resolveRequest, reject: rejectRequest });
      this.child.stdin?.write(`${JSON.stringify({ seq, ...body })}\n`);
    });
  }

  /** Socket pair for the pair (a, b); asking again for the same key updates it in place. */
  async link(key: string, a: RelayNodeAddress, b: RelayNodeAddress, oneWayMs: number): Promise<RelayPorts> {
    const msg = await this.request({ op: "link", key, a, b, oneWayMs });
    if (typeof msg.portForA !== "number" || typeof msg.portForB !== "number") throw new LabError("lab: WAN relay: no ports in its answer");
    return { portForA: msg.portForA, portForB: msg.portForB };
  }

  /** Cuts (or heals) one link's UDP, or every link's when `key` is left out; sets the random loss on every link. */
  async impair(change: { key?: string; cut?: boolean; lossRate?: number }): Promise<void> {
    await this.request({ op: "impair", ...change });
  }

  /** Lets this process exit while the relay keeps serving a kept lab. */
  detach(): void {
    this.child.stdin?.end();
    (this.child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
    this.child.unref();
  }
}
