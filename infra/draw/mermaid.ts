/**
 * The mesh as a Mermaid flowchart, for pull-request comments (GitHub renders ```mermaid
 * blocks): areas and regions as nested subgraphs, one shape and colour per role, a thick red
 * outline and "forwards" on transit nodes, every planned link labelled with its round trip.
 */
import type { MeshPlan, Role } from "../model";
import { formatRtt, rttNote, sceneOf, titleOf, type DrawOptions, type Scene, type SceneNode } from "./scene";
import { ROLE_STYLE, TRANSIT_STROKE, rttColour } from "./style";
import { idAllocator, mermaidText } from "./text";

/** Mermaid's shapes: hexagon hub, stadium POP, rounded backend. */
const SHAPE: Record<Role, [string, string]> = { hub: ["{{", "}}"], pop: ["([", "])"], backend: ["(", ")"] };

export function meshToMermaid(plan: MeshPlan, options: DrawOptions): string {
  return sceneToMermaid(sceneOf(plan, options));
}

export function sceneToMermaid(scene: Scene): string {
  const id = idAllocator();
  const nodeId = new Map(scene.nodes.map((n) => [n.name, id("n_", n.name)]));
  const out: string[] = [];
  // Frontmatter is YAML: a JSON string is a valid double-quoted YAML scalar.
  out.push("---", `title: ${JSON.stringify(`${titleOf(scene)}. ${rttNote(scene)}`)}`, "---");
  out.push("flowchart LR");
  for (const area of scene.areas) {
    out.push(`  subgraph ${id("area_", area.name)}["${mermaidText(`${area.name} (area)`)}"]`);
    for (const region of area.regions) {
      out.push(`    subgraph ${id("region_", region.name)}["${mermaidText(`${region.name} ${region.subnet}`)}"]`);
      for (const node of region.nodes) out.push(`      ${nodeStatement(nodeId.get(node.name) as string, node)}`);
      out.push("    end");
    }
    out.push("  end");
  }
  const styles: string[] = [];
  scene.links.forEach((link, i) => {
    const words = [...(link.rttMs === undefined ? [] : [formatRtt(link.rttMs)]), ...(link.cuts === undefined ? [] : [`cut: ${link.cuts} pairs`])];
    const label = words.length === 0 ? "" : `|"${mermaidText(words.join(" · "))}"|`;
    out.push(`  ${nodeId.get(link.a)} ${link.backup ? "-.-" : "---"}${label} ${nodeId.get(link.b)}`);
    styles.push(`  linkStyle ${i} stroke:${rttColour(link.rttMs)},stroke-width:2px`);
  });
  out.push(...styles);
  for (const role of ["hub", "pop", "backend"] as Role[]) {
    const s = ROLE_STYLE[role];
    out.push(`  classDef ${role} fill:${s.fill},stroke:${s.stroke},color:${s.text},stroke-width:1px`);
    out.push(`  classDef ${role}_forwards fill:${s.fill},stroke:${TRANSIT_STROKE},color:${s.text},stroke-width:4px`);
  }
  for (const role of ["hub", "pop", "backend"] as Role[]) {
    for (const transit of [false, true]) {
      const ids = scene.nodes.filter((n) => n.role === role && n.transit === transit).map((n) => nodeId.get(n.name));
      if (ids.length > 0) out.push(`  class ${ids.join(",")} ${role}${transit ? "_forwards" : ""}`);
    }
  }
  return `${out.join("\n")}\n`;
}

function nodeStatement(id: string, node: SceneNode): string {
  const [open, close] = SHAPE[node.role];
  const lines = [`<b>${mermaidText(node.name)}</b>`, mermaidText(`${ROLE_STYLE[node.role].label} · ${node.cloud} ${node.placement}`), mermaidText(node.address)];
  if (node.transit) lines.push("<i>forwards</i>");
  if (node.cuts !== undefined) lines.push(`<b>down: ${node.cuts} pairs lost</b>`);
  return `${id}${open}"${lines.join("<br/>")}"${close}`;
}
