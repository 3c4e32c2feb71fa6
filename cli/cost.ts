/** `wgmesh plan --cost`: the monthly estimate of infra/cost, as a table per node and a line per cloud. */
import type { MeshCost, PricedCloud } from "../infra/cost";

const money = (x: number | undefined): string => (x === undefined ? "?" : x.toFixed(2));

function table(rows: string[][], leftColumns: number): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i < leftColumns ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join("  ").trimEnd());
}

export function formatCost(stack: string, cost: MeshCost): string[] {
  const t = cost.table;
  const priced = cost.nodes.filter((n) => n.cloud !== "external");
  const rows = [
    ["node", "role", "cloud", "size", "VM", "IPv4", "disk", "secret", "reads", "a month"],
    ...cost.nodes.map((n) =>
      n.cloud === "external" ? [n.name, n.role, n.cloud, "-", "-", "-", "-", "-", "-", "0.00"] : [n.name, n.role, n.cloud, n.size ?? "", ...n.items.map((i) => money(i.monthly)), `${money(n.monthly)}${n.unpriced.length ? "+" : ""}`],
    ),
  ];
  const perCloud = (["aws", "gcp", "azure"] as PricedCloud[])
    .map((c) => [c, priced.filter((n) => n.cloud === c)] as const)
    .filter(([, ns]) => ns.length > 0)
    .map(([c, ns]) => `${c} ${ns.length} node${ns.length === 1 ? "" : "s"} ${t.currency} ${money(ns.reduce((s, n) => s + n.monthly, 0))}`);
  const unpriced = cost.nodes.flatMap((n) => n.unpriced.map((u) => `${n.name}: ${u}`));
  return [
    `Monthly cost of stack ${stack}: ${t.currency} ${money(cost.monthly)}${unpriced.length ? " and what the table cannot price (+)" : ""}, ${cost.nodes.length} nodes`,
    `List prices of ${t.date} (${t.currency}, on demand) in AWS ${t.regions.aws}, GCP ${t.regions.gcp} and Azure ${t.regions.azure}; data transfer, taxes, free tiers and discounts left out. Vault reads: the sync unit's, ${cost.readsPerMonth.toLocaleString("en-US")} a month per node.`,
    "",
    ...table(rows, 4),
    "",
    `By cloud: ${perCloud.join("; ") || "none (external nodes only)"}`,
    ...(unpriced.length ? ["", "Not priced (a size the table does not list; the total leaves it out)", ...unpriced.map((u) => `  ${u}`)] : []),
    "",
    "Sources (infra/cost/prices-2025.json):",
    ...(["aws", "gcp", "azure"] as PricedCloud[]).flatMap((c) => t.sources[c].map((s) => `  ${s}`)),
  ];
}
