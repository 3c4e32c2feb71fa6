/**
 * A MeshDiff for people: plain text for a terminal, Markdown for a pull-request comment
 * (compact: one table, then a collapsible block per node), and the JSON document for tools.
 * Keys are never printed; offline endpoint placeholders read as "<node>'s public IP".
 */
import { resilienceWarning } from "./resilience";
import type { FieldChange, MeshDiff, NodeDiff, PeerChange, Reach } from "./index";
import { accessDiffLines } from "../access/diff";

export interface DiffLabels {
  stack: string;
  /** Where the old declaration comes from, e.g. "main (1a2b3c4)" or a file name. */
  base: string;
  /** Where the new one comes from, e.g. "working tree". */
  head: string;
}

/** Offline endpoints are reserved names (RFC 6761 .invalid); say what they stand for. */
export function endpointWords(text: string): string {
  return text.replace(/\b([a-z][a-z0-9-]*)\.new-ip\.endpoint\.invalid\b/g, "$1's new public IP").replace(/\b([a-z][a-z0-9-]*)\.endpoint\.invalid\b/g, "$1's public IP");
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function reach(r: Reach): string {
  return `${r.reachable} of ${r.total}`;
}

const TAKE_WORDS: Record<NodeDiff["take"]["kind"], string> = {
  "new-vm": "new VM",
  deleted: "deleted",
  "by-hand": "by hand",
  "restart-vm": "VM restart",
  restart: "interface restart",
  syncconf: "in place (wg syncconf)",
  "in-place": "in place",
  "cloud-only": "cloud resources only",
  "file-only": "vault only",
};

/** The wg-quick lines of a field change, with +/-/space signs as in a unified diff. */
function fieldLines(f: FieldChange, sign: "+" | "-" | "~"): string[] {
  const line = (s: string, v: string | undefined): string => `${s} ${f.key} = ${endpointWords(v ?? "")}`;
  if (sign === "+") return [line("+", f.after)];
  if (sign === "-") return [line("-", f.after ?? f.before)];
  if (f.key === "PrivateKey" || f.key === "PublicKey" || f.key === "PresharedKey") {
    return [`- ${f.key} = ${f.before === "(removed)" ? "(a key)" : f.before === undefined ? "(none)" : "(old key)"}`, `+ ${f.key} = ${f.after === "(added)" || f.after === "(rotated)" ? "(new key)" : "(none)"}`];
  }
  return [...(f.before !== undefined && f.before !== "" ? [line("-", f.before)] : []), ...(f.after !== undefined && f.after !== "" ? [line("+", f.after)] : [])];
}

function peerLines(p: PeerChange): string[] {
  switch (p.change) {
    case "added":
      return [`+ [Peer] # ${p.peer}`, ...p.fields.flatMap((f) => fieldLines(f, "+"))];
    case "removed":
      return [`- [Peer] # ${p.peer}`, ...p.fields.filter((f) => f.key === "AllowedIPs").flatMap((f) => fieldLines(f, "-"))];
    case "changed":
      return [`  [Peer] # ${p.peer}`, ...p.fields.flatMap((f) => fieldLines(f, "~"))];
  }
}

/** The node's wg0.conf changes as unified-diff lines. */
export function configLines(n: NodeDiff): string[] {
  const sign = n.status === "added" ? "+" : "~";
  const iface = n.interface.length > 0 ? [`${sign === "+" ? "+" : " "} [Interface]`, ...n.interface.flatMap((f) => fieldLines(f, sign))] : [];
  return [...iface, ...n.peers.flatMap(peerLines)];
}

/** "2 peers added, 1 changed; MTU, Address" */
export function changeSummary(n: NodeDiff): string {
  if (n.status === "removed") return n.renamedTo ? `removed (renamed to ${n.renamedTo}?)` : "removed";
  const count = (c: PeerChange["change"]): number => n.peers.filter((p) => p.change === c).length;
  const parts: string[] = [];
  if (n.status === "added") parts.push(`added${n.renamedFrom ? ` (renamed from ${n.renamedFrom}?)` : ""}, ${plural(n.peers.length, "peer")}`);
  else {
    const peers = [["added", count("added")], ["removed", count("removed")], ["changed", count("changed")]].filter(([, k]) => (k as number) > 0).map(([w, k]) => `${k} ${w}`);
    if (peers.length > 0) parts.push(`peers: ${peers.join(", ")}`);
    if (n.interface.length > 0) parts.push(n.interface.map((f) => f.key).join(", "));
    if (parts.length === 0) parts.push(n.take.kind === "file-only" ? "comments only" : "placement");
  }
  return parts.join("; ");
}

function headline(d: MeshDiff): string {
  const parts: string[] = [];
  if (d.nodesAdded.length > 0) parts.push(`${plural(d.nodesAdded.length, "node")} added`);
  if (d.nodesRemoved.length > 0) parts.push(`${plural(d.nodesRemoved.length, "node")} removed`);
  if (d.linksAdded.length > 0) parts.push(`${plural(d.linksAdded.length, "link")} added`);
  if (d.linksRemoved.length > 0) parts.push(`${plural(d.linksRemoved.length, "link")} removed`);
  const changed = d.nodes.filter((n) => n.status === "changed").length;
  if (changed > 0) parts.push(`${plural(changed, "node")} changed`);
  if (d.settings.length > 0) parts.push(`${plural(d.settings.length, "mesh setting")} changed`);
  if (d.agent) parts.push(d.agent.before === "none" ? `agent ${d.agent.after} on ${plural(d.agent.nodes, "node")}` : `agent ${d.agent.before} -> ${d.agent.after} on ${plural(d.agent.nodes, "node")}`);
  if (d.access?.changed) parts.push(`access ${d.access.policy === "unchanged" ? "flows changed" : `policy ${d.access.policy}`}`);
  return parts.length > 0 ? parts.join(", ") : "no change";
}

function reachLine(d: MeshDiff): string {
  const r = d.reachability;
  const mid = r.meanwhile ? `; ${reach(r.meanwhile)} until ${r.meanwhile.waitingOn.join(", ")} ${r.meanwhile.waitingOn.length === 1 ? "has its" : "have their"} wg0.conf installed by hand` : "";
  const lost = r.lost.length === 0 ? "no pair stops being reachable" : `${plural(r.lost.length, "pair")} stop${r.lost.length === 1 ? "s" : ""} being reachable`;
  return `${reach(r.before)} -> ${reach(r.after)} ordered pairs reachable${mid}; ${lost}`;
}

function settingLine(s: MeshDiff["settings"][number]): string {
  return `${s.key} ${s.before} -> ${s.after}${s.effect ? `: ${s.effect}` : ""}`;
}

function pathLine(p: MeshDiff["reachability"]["pathsChanged"][number]): string {
  return `${p.from} -> ${p.to}: ${p.before.join(" -> ")}  =>  ${p.after.join(" -> ")}`;
}

const SIGN = { added: "+", removed: "-", changed: "~" } as const;

function resilienceText(d: MeshDiff): string {
  const r = d.resilience;
  const same = r.before.nodes === r.after.nodes && r.before.links === r.after.links;
  return `single failures survived: nodes ${r.before.nodes}${same ? "" : ` -> ${r.after.nodes}`}, links ${r.before.links}${same ? "" : ` -> ${r.after.links}`}${r.lessResilient ? " (less resilient)" : ""}`;
}

export function formatDiffText(d: MeshDiff, labels: DiffLabels): string {
  const warning = resilienceWarning(d.resilience);
  const out = [`Stack ${labels.stack}: ${labels.base} -> ${labels.head}`, ...(warning ? [`WARNING: ${warning}`] : []), headline(d), `Reachability: ${reachLine(d)}`, `Resilience: ${resilienceText(d)}`];
  if (!d.changed) return out.join("\n");
  if (d.agent) out.push("", "Node agent", `  ${d.agent.summary}`);
  if (d.settings.length > 0) out.push("", "Mesh", ...d.settings.map((s) => `  ${settingLine(s)}`));
  if (d.nodes.length > 0) {
    out.push("", "Nodes");
    for (const n of d.nodes) {
      out.push(`  ${SIGN[n.status]} ${n.name}  ${n.role}, ${n.cloud} ${n.where}, ${n.address}: ${changeSummary(n)}`);
      out.push(`      ${TAKE_WORDS[n.take.kind]}: ${n.take.summary}`);
      for (const r of n.take.reasons) out.push(`      because ${r}`);
      for (const l of configLines(n)) out.push(`      ${l}`);
    }
  }
  if (d.linksAdded.length + d.linksRemoved.length > 0) {
    out.push("", "Links", ...d.linksAdded.map((l) => `  + ${l.id} (weight ${l.weight})`), ...d.linksRemoved.map((l) => `  - ${l.id} (weight ${l.weight})`));
  }
  const r = d.reachability;
  if (r.lost.length > 0) out.push("", "Pairs that stop being reachable", ...r.lost.map((l) => `  ${l.from} -> ${l.to}${l.when === "meanwhile" ? " (until installed by hand)" : ""}: ${l.why}`));
  if (r.pathsChanged.length > 0) out.push("", "Paths that change", ...r.pathsChanged.map((p) => `  ${pathLine(p)}`));
  if (d.access?.changed) out.push("", ...accessDiffLines(d.access));
  return out.join("\n");
}

/** Markdown text: no raw HTML from values, and pipes and backticks kept out of table cells. */
function md(text: string): string {
  return text.replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`);
}

function fence(lines: string[], lang: string): string[] {
  const body = lines.map((l) => l.replace(/```/g, "'''"));
  return [`\`\`\`${lang}`, ...body, "```"];
}

export function formatDiffMarkdown(d: MeshDiff, labels: DiffLabels): string {
  const r = d.reachability;
  const testsFail = (d.access?.failingTests.length ?? 0) > 0 ? " · ❌ **the access policy's tests fail**" : "";
  const status =
    (d.breaksReachability
      ? "❌ **this change breaks reachability**"
      : d.agent?.backwards
        ? "❌ **every node refuses an older agent**"
        : d.changed
          ? "✅ every pair stays reachable"
          : "no change to the mesh") + testsFail;
  const warning = resilienceWarning(d.resilience);
  const out = [
    `### wg-mesh diff: stack \`${md(labels.stack)}\``,
    "",
    ...(warning ? [`⚠️ **${md(warning)}**`, ""] : []),
    `${md(labels.base)} → ${md(labels.head)}: **${md(headline(d))}**`,
    "",
    `Reachability **${reach(r.before)} → ${reach(r.after)}** ordered pairs${r.meanwhile ? ` (**${reach(r.meanwhile)}** until ${md(r.meanwhile.waitingOn.join(", "))} ${r.meanwhile.waitingOn.length === 1 ? "has its" : "have their"} wg0.conf installed by hand)` : ""} · ${status}`,
    "",
    `Resilience: ${md(resilienceText(d))}`,
  ];
  if (!d.changed) return out.join("\n");
  if (r.lost.length > 0) {
    out.push("", `**${plural(r.lost.length, "pair")} stop${r.lost.length === 1 ? "s" : ""} being reachable:**`, "");
    const shown = r.lost.slice(0, 20);
    for (const l of shown) out.push(`- \`${md(l.from)} -> ${md(l.to)}\`${l.when === "meanwhile" ? " (until installed by hand)" : ""}: ${md(l.why)}`);
    if (r.lost.length > shown.length) out.push(`- and ${r.lost.length - shown.length} more (see \`wgmesh diff --json\`)`);
  }
  if (d.agent) out.push("", `- **node agent** ${md(d.agent.summary)}`);
  if (d.settings.length > 0) out.push("", ...d.settings.map((s) => `- **${md(s.key)}** ${md(String(s.before))} → ${md(String(s.after))}${s.effect ? `: ${md(s.effect)}` : ""}`));
  if (d.nodes.length > 0) {
    out.push("", "| | node | change | how it takes it |", "|---|---|---|---|");
    for (const n of d.nodes) {
      const why = n.take.reasons.length > 0 ? ` (${md(n.take.reasons.join("; "))})` : "";
      out.push(`| ${SIGN[n.status]} | \`${md(n.name)}\` ${md(n.role)}, ${md(n.cloud)} ${md(n.where)}, ${md(n.address)} | ${md(changeSummary(n))} | **${TAKE_WORDS[n.take.kind]}**: ${md(n.take.summary)}${why} |`);
    }
    for (const n of d.nodes) {
      const lines = configLines(n);
      if (lines.length === 0) continue;
      out.push("", `<details><summary><code>${md(n.name)}</code> wg0.conf: ${md(changeSummary(n))}</summary>`, "", ...fence(lines.map((l) => endpointWords(l)), "diff"), "", "</details>");
    }
  }
  if (d.linksAdded.length + d.linksRemoved.length > 0) {
    out.push("", `Links: ${[...d.linksAdded.map((l) => `+\`${md(l.id)}\``), ...d.linksRemoved.map((l) => `−\`${md(l.id)}\``)].join(" ")}`);
  }
  if (r.pathsChanged.length > 0) {
    out.push("", `<details><summary>${plural(r.pathsChanged.length, "path")} change${r.pathsChanged.length === 1 ? "s" : ""}</summary>`, "", ...fence(r.pathsChanged.map(pathLine), "text"), "", "</details>");
  }
  if (d.access?.changed) {
    const [title, ...rest] = accessDiffLines(d.access);
    out.push("", `**${md(title ?? "")}**`, "", ...rest.map((l) => `- ${md(l.trim())}`));
  }
  return out.join("\n");
}

export function diffToJson(d: MeshDiff, labels: DiffLabels): unknown {
  const words = (v: unknown): unknown => JSON.parse(endpointWords(JSON.stringify(v)));
  return { stack: labels.stack, base: labels.base, head: labels.head, ...(words(d) as object) };
}
