/**
 * Reading a file as it was at a git ref: the one piece of `wgmesh diff` that touches the
 * repository. git runs without a shell, with argument arrays, and a ref is resolved to a commit
 * before anything else, so a ref can never be taken for an option or a path. Every failure is
 * one line saying what is missing and what to do instead.
 */
import { spawnSync } from "node:child_process";

/** A problem with the repository, the ref or the file, worded for the user. */
export class GitReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GitReadError";
  }
}

/** A value quoted for a message, control characters escaped. */
function quoted(value: string): string {
  return JSON.stringify(value);
}

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

function git(dir: string, args: string[]): GitResult {
  const r = spawnSync("git", args, { cwd: dir, encoding: "utf8", shell: false, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" } });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new GitReadError(code === "ENOENT" ? "git is not installed (or not on PATH); compare with --base-file FILE instead" : `cannot run git (${code ?? r.error.message})`);
  }
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}

export function assertRepository(dir: string): void {
  const r = git(dir, ["rev-parse", "--is-inside-work-tree"]);
  if (r.code !== 0 || r.stdout.trim() !== "true") {
    throw new GitReadError(`${dir} is not inside a git repository; compare with --base-file FILE instead`);
  }
}

/** The full commit id a ref names, or a one-line error. */
export function resolveCommit(dir: string, ref: string): string {
  if (ref === "" || ref.startsWith("-") || /[\p{Cc}]/u.test(ref)) {
    throw new GitReadError(`--base ${quoted(ref)} is not a git ref; give a branch, tag or commit such as origin/main`);
  }
  const r = git(dir, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`]);
  const sha = r.stdout.trim();
  if (r.code !== 0 || !/^[0-9a-f]{40,64}$/.test(sha)) {
    throw new GitReadError(`--base ${quoted(ref)}: no such commit in this repository; fetch it first (git fetch origin) or name another`);
  }
  return sha;
}

/** Candidates for the default branch, most telling first: what origin says, then the usual names. */
const DEFAULT_BRANCHES = ["origin/main", "origin/master", "main", "master"];

export interface BaseRef {
  /** What the user would call it: "merge base with origin/main". */
  label: string;
  commit: string;
}

/** The merge base of HEAD with the default branch: what a pull request is compared with. */
export function defaultBase(dir: string): BaseRef {
  assertRepository(dir);
  const head = git(dir, ["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"]);
  const candidates = head.code === 0 && head.stdout.trim() !== "" ? [head.stdout.trim(), ...DEFAULT_BRANCHES] : DEFAULT_BRANCHES;
  for (const branch of candidates) {
    const exists = git(dir, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${branch}^{commit}`]);
    if (exists.code !== 0) continue;
    const base = git(dir, ["merge-base", "HEAD", exists.stdout.trim()]);
    if (base.code !== 0) throw new GitReadError(`HEAD and ${branch} share no history; pass --base REF`);
    return { label: `merge base with ${branch}`, commit: base.stdout.trim() };
  }
  throw new GitReadError(`cannot tell the default branch (none of ${DEFAULT_BRANCHES.join(", ")} exists); pass --base REF`);
}

/**
 * The text of `file` (a path relative to `dir`) at `commit`. `display` names the file in the
 * message when it does not exist there.
 */
export function readFileAt(dir: string, commit: string, file: string, display = file): string {
  if (file.startsWith("/") || file.split("/").includes("..")) throw new GitReadError(`${quoted(file)}: give a path inside the project`);
  const spec = `${commit}:./${file}`;
  const exists = git(dir, ["cat-file", "-e", "--end-of-options", spec]);
  if (exists.code !== 0) {
    throw new GitReadError(`${display} does not exist at ${commit.slice(0, 12)}; the stack is new there: compare with --base-file FILE or another --base`);
  }
  const r = git(dir, ["cat-file", "blob", "--end-of-options", spec]);
  if (r.code !== 0) throw new GitReadError(`cannot read ${display} at ${commit.slice(0, 12)}: ${firstLine(r.stderr)}`);
  return r.stdout;
}

/** The text of `file` at `commit`, or undefined when the file does not exist there. */
export function readFileAtOrUndefined(dir: string, commit: string, file: string): string | undefined {
  const exists = git(dir, ["cat-file", "-e", "--end-of-options", `${commit}:./${file}`]);
  return exists.code === 0 ? readFileAt(dir, commit, file) : undefined;
}

export interface FileAtRef {
  text: string;
  /** "main (1a2b3c4d5e6f)", for headings. */
  label: string;
  commit: string;
}

/** `ref` undefined: the merge base with the default branch. */
export function readStackFileAt(dir: string, file: string, ref?: string): FileAtRef {
  assertRepository(dir);
  const base = ref === undefined ? defaultBase(dir) : { label: ref, commit: resolveCommit(dir, ref) };
  return { text: readFileAt(dir, base.commit, file), label: `${base.label} (${base.commit.slice(0, 12)})`, commit: base.commit };
}
