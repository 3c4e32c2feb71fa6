/** The lab's reachability matrix for people: rows ping, columns answer. */
import { summaryLine } from "../infra/simulate";
import type { PairResult, PingMatrix } from "./ping";

export function formatRtt(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)}ms` : `${Math.round(ms)}ms`;
}

function cell(p: PairResult | undefined, withRtt: boolean): string {
  if (!p) return ".";
  if (!p.reachable || p.hops === undefined) return "-";
  return withRtt && p.rttMs !== undefined ? `${p.hops}/${formatRtt(p.rttMs)}` : String(p.hops);
}

/** Cells: hops (1 = direct peer), hops/RTT with `withRtt`, `-` unreachable; ends with the reachable count. */
export function formatMatrix(m: PingMatrix, withRtt: boolean): string {
  const byPair = new Map(m.pairs.map((p) => [`${p.from}\u0000${p.to}`, p]));
  const rows = m.nodes.map((from) => [from, ...m.nodes.map((to) => cell(byPair.get(`${from}\u0000${to}`), withRtt))]);
  const header = ["from \\ to", ...m.nodes];
  const table = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...table.map((r) => (r[i] as string).length)));
  const lines = table.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ").trimEnd());
  const legend = withRtt ? "cells: hops/overlay round trip, - = unreachable" : "cells: hops (1 = direct peer), - = unreachable";
  return [...lines, "", legend, summaryLine(m)].join("\n");
}
