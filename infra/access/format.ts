/** An access report as `wgmesh plan` prints it. */
import type { AccessReport } from "./report";

/** The one line a flat mesh gets. */
export const FLAT_MESH_LINE = "Access: no policy declared: every node reaches every other on every port and protocol (a flat mesh); declare access to restrict it (docs/access.md)";

function kb(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1)} KB`;
}

function table(names: readonly string[], cells: readonly (readonly string[])[]): string[] {
  const shown = cells.map((row) => row.map((c) => c || "-"));
  const first = Math.max(4, ...names.map((n) => n.length));
  const widths = names.map((n, c) => Math.max(n.length, ...shown.map((row) => (row[c] ?? "").length)));
  const line = (head: string, row: readonly string[]) => `    ${head.padEnd(first)}  ${row.map((v, c) => v.padEnd(widths[c] ?? 0)).join("  ")}`.trimEnd();
  return [line("", names), ...names.map((n, r) => line(n, shown[r] ?? []))];
}

export function accessLines(r: AccessReport): string[] {
  const echo = r.echo === "all" ? "ICMP echo between every pair" : "ICMP echo between direct neighbours";
  const out = [
    `Access: ${r.groups.length} groups, ${r.rules.length} rules, ${echo}; nftables on ${r.rulesets.nodes} nodes (${r.rulesets.forwarding} also filter what they forward)` +
      (r.rulesets.largest ? `, largest ruleset ${kb(r.rulesets.largest.bytes)} (${r.rulesets.largest.node})` : ""),
  ];
  if (r.groups.length > 0) {
    out.push("  groups");
    for (const g of r.groups) out.push(`    ${g.name} (${g.members.length}): ${g.members.length > 12 ? `${g.members.slice(0, 12).join(", ")}, ...` : g.members.join(", ")}`);
  }
  out.push("  rules, in order (what no rule allows is dropped at the first node that receives it)");
  if (r.rules.length === 0) out.push("    none: every flow but ICMP echo is dropped");
  for (const rule of r.rules) out.push(`    ${rule.number}. ${rule.text}   (${rule.pairs} ordered pairs)`);
  if (r.matrix) {
    out.push(`  matrix: what each row may open to each column, proven on every path (* = only some pairs of the two)`);
    out.push(...table(r.matrix.names, r.matrix.cells));
  }
  out.push(`  pairs no rule allows: ${r.noRule.pairs} of ${r.pairs}${r.noRule.pairs > 0 ? ` (${r.echo === "all" ? "ICMP echo only" : "ICMP echo only between neighbours"})` : ""}`);
  for (const s of r.noRule.bySource) out.push(`    ${s.from} -> ${s.to.join(", ")}${s.more > 0 ? ` and ${s.more} more` : ""}`);
  if (r.noRule.sourcesOmitted > 0) out.push(`    and from ${r.noRule.sourcesOmitted} more nodes`);
  if (r.tests.length > 0) {
    out.push(`  tests: ${r.tests.length - r.failedTests} of ${r.tests.length} hold`);
    for (const t of r.tests) {
      if (t.failures === 0) continue;
      out.push(`    FAILED access.tests[${t.index}] ${t.text}: ${t.failures} flow${t.failures === 1 ? "" : "s"} over ${t.pairs} pairs`);
      for (const f of t.examples) out.push(`      ${f.from} -> ${f.to} ${f.service}: expected ${f.expected}, ${f.found}`);
      if (t.failures > t.examples.length) out.push(`      and ${t.failures - t.examples.length} more`);
    }
  }
  return out;
}
