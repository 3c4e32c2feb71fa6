/** How the CLI fails: one line per problem on stderr, a non-zero exit, no stack trace. */
import { ProblemsError } from "../infra/errors";
import { MeshConfigError } from "../infra/model";
import { capRepeatedLines, issueLines } from "../infra/problem-lines";

export function reportFailure(err: unknown): number {
  if (err instanceof ProblemsError) {
    for (const line of capRepeatedLines(err.lines)) process.stderr.write(`${line}\n`);
    process.stderr.write(`${err.summary}\n`);
    return 2;
  }
  if (err instanceof MeshConfigError) {
    for (const line of issueLines(err.issues)) process.stderr.write(`${line}\n`);
    const n = err.issues.length;
    process.stderr.write(`${n} problem${n === 1 ? "" : "s"}${err.source ? ` in ${err.source}` : ""}; nothing was written\n`);
    return 2;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`wgmesh: ${message}\n`);
  if (process.env.WGMESH_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return 1;
}

/** Wraps a command action so every failure ends the same way. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      process.exitCode = typeof code === "number" ? code : 0;
    } catch (err) {
      process.exitCode = reportFailure(err);
    }
  };
}
