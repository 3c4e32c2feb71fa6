/**
 * Running the few system tools the lab drives (ip, wg, ping, sysctl). Every call passes
 * argv directly (no shell), so node names and paths can never be interpreted as commands.
 */
import { execFile, spawnSync } from "node:child_process";
import { LabError } from "./errors";
import { findOnPath } from "./preflight";

const resolved = new Map<string, string>();

/** Absolute path of a tool, so sbin tools work whatever PATH the caller has. */
export function tool(name: string): string {
  let path = resolved.get(name);
  if (!path) {
    path = findOnPath(name) ?? name;
    resolved.set(name, path);
  }
  return path;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the command's stdin. */
  input?: string;
  /** Resolve with the exit code instead of rejecting when the command fails. */
  allowFailure?: boolean;
  timeoutMs?: number;
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
}

/** Commands started by run() and not finished yet. */
const inFlight = new Set<Promise<RunResult>>();

/** Resolves once every command running now has ended: after a teardown, nothing they make is left to race it. */
export function commandsSettled(): Promise<void> {
  return Promise.allSettled([...inFlight]).then(() => undefined);
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const done = startCommand(cmd, args, opts);
  inFlight.add(done);
  const forget = (): void => void inFlight.delete(done);
  done.then(forget, forget);
  return done;
}

function startCommand(cmd: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = opts.env ? { ...process.env, ...opts.env } : process.env;
    const child = execFile(tool(cmd), args, { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024, env }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      const result = { code, stdout: String(stdout), stderr: String(stderr) };
      if (code !== 0 && !opts.allowFailure) reject(new LabError(`${describe(cmd, args)} failed: ${redactQuoted(firstLine(result.stderr || result.stdout || String(err?.message)))}`));
      else resolve(result);
    });
    // A command that dies before it reads its input (its namespace just went) makes the write
    // fail with EPIPE; its exit status already says what happened.
    child.stdin?.on("error", () => undefined);
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** Synchronous, never throws: teardown has to work from an 'exit' handler too. */
export function runSync(cmd: string, args: string[]): RunResult {
  const r = spawnSync(tool(cmd), args, { encoding: "utf8", timeout: 10_000 });
  return { code: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? String(r.error?.message ?? "") };
}

function describe(cmd: string, args: string[]): string {
  return [cmd, ...args].join(" ");
}

/** wg quotes the offending value (`...' ), which can be a key: never let it into a message. */
export function redactQuoted(text: string): string {
  return text.replace(/`[^`']*['`]/g, "`(value hidden)'");
}

export function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}

/**
 * Runs fn over items with at most `limit` in flight; results keep the items' order. On a
 * failure no new item starts, and it rethrows only once every started one has finished, so
 * a teardown that follows never races a command still creating something.
 */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}

/** Promise.all that waits for every promise to settle before rethrowing the first failure. */
export async function allSettledOrThrow(promises: Promise<unknown>[]): Promise<void> {
  const outcomes = await Promise.allSettled(promises);
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (failed) throw failed.reason;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Blocks the thread; only for teardown, where the event loop may already be gone. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
