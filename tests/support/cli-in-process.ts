/**
 * The real `wgmesh` entry (cli/main.ts's main) run inside this process, with its output caught:
 * hundreds of generated cases cost milliseconds each instead of a process start each. The
 * command sees a fresh exit code, the given working folder, and a process.exit that throws
 * (commander calls it for usage errors), so nothing it does can end the test run.
 */
import { main } from "../../cli/main";

export interface CliAnswer {
  code: number;
  stdout: string;
  stderr: string;
  /** Something escaped the CLI's own error handling (an exception out of main). */
  crashed?: string;
  ms: number;
}

class ExitCalled extends Error {
  constructor(readonly code: number) {
    super(`process.exit(${code})`);
  }
}

export async function runCliInProcess(args: readonly string[], cwd: string): Promise<CliAnswer> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = { out: process.stdout.write, err: process.stderr.write, exit: process.exit, code: process.exitCode, cwd: process.cwd() };
  const capture = (into: string[]) =>
    ((chunk: string | Uint8Array) => {
      into.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      return true;
    }) as typeof process.stdout.write;
  process.stdout.write = capture(out);
  process.stderr.write = capture(err);
  process.exit = ((code?: number) => {
    throw new ExitCalled(code ?? 0);
  }) as typeof process.exit;
  process.exitCode = undefined;
  process.chdir(cwd);
  const started = Date.now();
  let code: number;
  let crashed: string | undefined;
  try {
    await main(["node", "wgmesh", ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof ExitCalled) code = e.code;
    else {
      code = -1;
      crashed = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
  } finally {
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    process.exit = saved.exit;
    process.exitCode = saved.code;
    process.chdir(saved.cwd);
  }
  return { code, stdout: out.join(""), stderr: err.join(""), ms: Date.now() - started, ...(crashed ? { crashed } : {}) };
}
