/** Findings most serious first, in the order they were found within a severity. */
import type { Finding, Severity } from "./types";

const RANK: Record<Severity, number> = { error: 0, warning: 1, note: 2 };

export function findingsOrder(findings: Finding[]): Finding[] {
  return findings
    .map((f, i) => ({ f, i }))
    .sort((x, y) => RANK[x.f.severity] - RANK[y.f.severity] || x.i - y.i)
    .map((x) => x.f);
}
