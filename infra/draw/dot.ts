/**
 * The mesh as a Graphviz graph (DOT text, laid out by `dot`): areas and regions as nested
 * clusters, one shape and colour per role, a double outline on transit nodes, every planned
 * link as an edge labelled with its round trip.
 */
import type { MeshPlan, Role } from "../model";
import { FONT, LINK_STROKE, MUTED_TEXT, ROLE_STYLE, RTT_BANDS, TRANSIT_STROKE, UNKNOWN_RTT, rttColour } from "./style";
import { formatRtt, rttNote, sceneOf, titleOf, type DrawOptions, type Scene, type SceneNode } from "./scene";
import { dotString, escapeXml } from "./text";

const SHAPE: Record<Role, string> = { hub: "octagon", pop: "hexagon", backend: "box" };
const ROLE_RANK: Record<Role, number> = { hub: 0, pop: 1, backend: 2 };

export function meshToDot(plan: MeshPlan, options: DrawOptions): string {
  return sceneToDot(sceneOf(plan, options));
}

export function sceneToDot(scene: Scene): string {
  const out: string[] = [];
  out.push(`graph ${dotString(`wg-mesh ${scene.stack}`)} {`);
  out.push(
    `  graph [fontname=${dotString(FONT)}, fontsize=13, labelloc=t, labeljust=l, rankdir=LR, newrank=true, nodesep=0.3, ranksep=1.1, pad=0.3, bgcolor="white",`,
    `         label=<${header(scene)}>];`,
    `  node [fontname=${dotString(FONT)}, fontsize=11, style="filled", penwidth=1.2, margin="0.12,0.06"];`,
    `  edge [fontname=${dotString(FONT)}, fontsize=10, color="${LINK_STROKE}", fontcolor="${MUTED_TEXT}", penwidth=1.4];`,
  );
  // The legend is this borderless cluster's label, so it is sized by itself and not stretched to the title's width.
  out.push(`  subgraph "cluster_mesh" {`, `    label=<${legend(scene)}>; labeljust=l; peripheries=0;`);
  scene.areas.forEach((area, i) => {
    out.push(`  subgraph ${dotString(`cluster_area_${i}`)} {`);
    out.push(`    label=<<b>${escapeXml(area.name)}</b> <font color="${MUTED_TEXT}">area</font>>; style="rounded,filled"; fillcolor="#f4f6f9"; color="#c5ced9"; peripheries=1; fontsize=12;`);
    area.regions.forEach((region, j) => {
      out.push(`    subgraph ${dotString(`cluster_area_${i}_region_${j}`)} {`);
      out.push(`      label=<${escapeXml(region.name)} <font color="${MUTED_TEXT}">${escapeXml(region.subnet)}</font>>; style="rounded,dashed,filled"; fillcolor="#ffffff"; color="#9aa7b6"; peripheries=1; fontsize=10;`);
      for (const node of region.nodes) out.push(`      ${nodeStatement(node)}`);
      out.push("    }");
    });
    out.push("  }");
  });
  out.push("  }");
  const rank = new Map(scene.nodes.map((n) => [n.name, ROLE_RANK[n.role]]));
  for (const link of scene.links) {
    // dot ranks an edge's tail before its head: hub first, then POPs, then backends.
    const [tail, head] = (rank.get(link.b) ?? 0) < (rank.get(link.a) ?? 0) ? [link.b, link.a] : [link.a, link.b];
    const colour = rttColour(link.rttMs);
    const label = link.rttMs === undefined ? "" : `label=<${escapeXml(formatRtt(link.rttMs))}>, fontcolor="${colour}", `;
    const cut = link.cuts === undefined ? "" : `, xlabel=<<font point-size="9" color="${TRANSIT_STROKE}">cut: ${link.cuts} pairs</font>>`;
    const style = link.backup ? `, style=dashed` : "";
    out.push(`  ${dotString(tail)} -- ${dotString(head)} [${label}color="${colour}"${style}${cut}, tooltip=${dotString(`${link.a} -- ${link.b}${link.backup ? " (backup)" : ""}${link.cuts === undefined ? "" : `: its loss cuts ${link.cuts} pairs`}`)}];`);
  }
  out.push("}");
  return `${out.join("\n")}\n`;
}

function nodeStatement(node: SceneNode): string {
  const style = ROLE_STYLE[node.role];
  const sub = node.role === "hub" ? "#c9d6e6" : MUTED_TEXT;
  const lines = [
    `<b>${escapeXml(node.name)}</b>`,
    `<font point-size="9" color="${sub}">${escapeXml(`${style.label} · ${node.cloud} ${node.placement}`)}</font>`,
    `<font point-size="9" color="${sub}">${escapeXml(node.address)}</font>`,
  ];
  if (node.transit) lines.push(`<font point-size="9" color="${node.role === "hub" ? "#ffb3a8" : TRANSIT_STROKE}"><b>forwards</b></font>`);
  if (node.cuts !== undefined) lines.push(`<font point-size="9" color="${node.role === "hub" ? "#ffb3a8" : TRANSIT_STROKE}"><b>down: ${node.cuts} pairs lost</b></font>`);
  const attrs = [
    `label=<${lines.join("<br/>")}>`,
    `shape=${SHAPE[node.role]}`,
    node.role === "backend" ? `style="rounded,filled"` : "",
    `fillcolor="${style.fill}"`,
    `fontcolor="${style.text}"`,
    node.transit ? `color="${TRANSIT_STROKE}", peripheries=2, penwidth=1.6` : `color="${style.stroke}"`,
    `tooltip=${dotString(`${node.name}: ${node.role}${node.transit ? ", forwards" : ""}`)}`,
  ].filter((a) => a !== "");
  return `${dotString(node.name)} [${attrs.join(", ")}];`;
}

/** The title and where the round trips come from. */
function header(scene: Scene): string {
  return [
    `<table border="0" cellborder="0" cellspacing="2" cellpadding="1">`,
    `<tr><td align="left"><font point-size="14"><b>${escapeXml(titleOf(scene))}</b></font></td></tr>`,
    `<tr><td align="left"><font point-size="10" color="${MUTED_TEXT}">${escapeXml(rttNote(scene))}</font></td></tr>`,
    `</table>`,
  ].join("");
}

/** Roles, transit and the link colours in use, as one row of an HTML-like table. */
function legend(scene: Scene): string {
  const cells: string[] = [];
  for (const role of ["hub", "pop", "backend"] as Role[]) {
    const s = ROLE_STYLE[role];
    cells.push(`<td bgcolor="${s.fill}" color="${s.stroke}" border="1"><font color="${s.text}" point-size="9">${s.label}</font></td>`);
  }
  cells.push(`<td border="2" color="${TRANSIT_STROKE}"><font color="${TRANSIT_STROKE}" point-size="9">forwards (transit)</font></td>`);
  const bands = RTT_BANDS.filter((b, i) => scene.links.some((l) => l.rttMs !== undefined && l.rttMs < b.below && (i === 0 || l.rttMs >= (RTT_BANDS[i - 1] as { below: number }).below)));
  const used = bands.map((b) => [b.colour, b.label] as const);
  if (scene.links.some((l) => l.rttMs === undefined)) used.push([UNKNOWN_RTT.colour, UNKNOWN_RTT.label]);
  if (used.length > 0) cells.push(`<td><font point-size="9" color="${MUTED_TEXT}">  links:</font></td>`);
  for (const [colour, label] of used) cells.push(`<td bgcolor="${colour}" width="22" height="4" fixedsize="true" cellpadding="0"></td><td align="left"><font point-size="9" color="${colour}">${escapeXml(label)}</font></td>`);
  return `<table border="0" cellborder="0" cellspacing="4" cellpadding="3"><tr>${cells.join("")}</tr></table>`;
}
