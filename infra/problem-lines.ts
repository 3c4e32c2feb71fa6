/**
 * How many problem lines a person is shown: every different problem, but the same problem at the
 * 10,000th node or the 5,000th [Peer] is noise. After a few lines of one problem, one line counts
 * the rest. The count in the closing line ("20000 problems in ...") stays whole.
 */
import type { ConfigIssue } from "./model";

/** Lines of one problem shown before the rest are counted. */
export const SAME_PROBLEM_SHOWN = 3;

const QUOTED = /"(?:[^"\\]|\\.)*"(?: \(\d+ characters\))?/g;
const NUMBER = /\b\d+(?:[.:]\d+)*(?:\/\d+)?\b/g;
/** Entries of maps keyed by name, in paths and in messages that name another entry. */
const NAMED_ENTRY = /\b(nodes|regions|sites|extraRegions\.(?:aws|gcp|azure))(?:\.[A-Za-z0-9_-]+|\["(?:[^"\\]|\\.)*"\])/g;

/** The problem a line reports, whatever entry, line or value it names: the same check failing elsewhere. */
export function problemKind(line: string): string {
  return line
    .replace(NAMED_ENTRY, "$1.*")
    .replace(/\brttMs\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, "rttMs.*.*")
    .replace(/\[\d+\]/g, "[*]")
    .replace(QUOTED, '"…"')
    .replace(NUMBER, "#");
}

/** Where a kind of problem is, for its count line: the path with its entry names as `*`. */
function placeOf(line: string): string {
  const path = line.split(": ")[0] ?? "";
  return path
    .replace(NAMED_ENTRY, "$1.*")
    .replace(/\[\d+\]/g, "[*]")
    .replace(/:\d+(?::\d+)?$/, "");
}

/**
 * The lines with each problem shown at most `shown` times, in their order, and after them one
 * line per problem that had more, counting the rest.
 */
export function capRepeatedLines(lines: readonly string[], shown = SAME_PROBLEM_SHOWN): string[] {
  const seen = new Map<string, { count: number; place: string; last: string }>();
  const out: string[] = [];
  for (const line of lines) {
    const kind = problemKind(line);
    const entry = seen.get(kind) ?? { count: 0, place: placeOf(line), last: "" };
    entry.count++;
    seen.set(kind, entry);
    if (entry.count <= shown) {
      out.push(line);
      entry.last = line.split(": ")[0] ?? "";
    }
  }
  for (const { count, place, last } of seen.values()) {
    if (count > shown) out.push(`${place}: ${(count - shown).toLocaleString("en-US")} more like ${last}, not listed`);
  }
  return out;
}

/** Config issues as the lines a person reads, repeats counted. */
export function issueLines(issues: readonly ConfigIssue[], shown = SAME_PROBLEM_SHOWN): string[] {
  return capRepeatedLines(
    issues.map((i) => `${i.path}: ${i.message}`),
    shown,
  );
}
