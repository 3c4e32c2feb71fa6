/**
 * Which node pairs get a WireGuard link. Every mode starts from the same rule — a link
 * needs at least one end reachable at a public endpoint — and adds explicit links on top.
 */
import type { ConfigIssue, MeshSpec, NodeSpec, PlannedLink, SkippedLink, LinkOrigin } from "../model";
import { defaultLinkWeight } from "./weights";

export interface NodeFacts {
  spec: NodeSpec;
  area: string;
  hasPublicEndpoint: boolean;
}

export function linkId(a: string, b: string): string {
  return a < b ? `${a}--${b}` : `${b}--${a}`;
}

export interface CandidateLinks {
  links: PlannedLink[];
  skipped: SkippedLink[];
  issues: ConfigIssue[];
}

export function candidateLinks(spec: MeshSpec, facts: Map<string, NodeFacts>): CandidateLinks {
  const links = new Map<string, PlannedLink>();
  const skipped: SkippedLink[] = [];
  const issues: ConfigIssue[] = [];

  const add = (a: string, b: string, origin: LinkOrigin, weight?: number): boolean => {
    const fa = facts.get(a) as NodeFacts;
    const fb = facts.get(b) as NodeFacts;
    if (!fa.hasPublicEndpoint && !fb.hasPublicEndpoint) {
      skipped.push({ a, b, reason: "neither end has a public endpoint (both behind NAT)" });
      return false;
    }
    const id = linkId(a, b);
    const [x, y] = a < b ? [a, b] : [b, a];
    links.set(id, { id, a: x, b: y, weight: weight ?? defaultLinkWeight(fa.area, fb.area), origin });
    return true;
  };

  const names = spec.nodes.map((n) => n.name);
  const hub = spec.hub;
  if (spec.topology === "full") {
    for (let i = 0; i < names.length; i++) {
      for (let j = i + 1; j < names.length; j++) add(names[i] as string, names[j] as string, "full");
    }
  } else {
    for (const n of names) if (n !== hub) add(n, hub, "hub");
    if (spec.topology === "regional") {
      for (const pop of spec.nodes.filter((n) => n.role === "pop")) {
        const area = facts.get(pop.name)?.area;
        for (const backend of spec.nodes.filter((n) => n.role === "backend")) {
          if (facts.get(backend.name)?.area === area) add(pop.name, backend.name, "regional");
        }
      }
    }
  }

  spec.nodes.forEach((node) => {
    node.links.forEach((extra, i) => {
      if (!facts.has(extra.peer)) return; // validation reports unknown names
      const fa = facts.get(node.name) as NodeFacts;
      const fb = facts.get(extra.peer) as NodeFacts;
      if (!fa.hasPublicEndpoint && !fb.hasPublicEndpoint) {
        issues.push({
          path: `nodes.${node.name}.links[${i}]`,
          message: `${node.name} and ${extra.peer} are both behind NAT, so neither can dial the other; give one of them a public endpoint or drop the link`,
        });
        return;
      }
      const existing = links.get(linkId(node.name, extra.peer));
      add(node.name, extra.peer, existing?.origin ?? "explicit", extra.weight ?? existing?.weight);
    });
  });

  return { links: [...links.values()].sort((p, q) => (p.id < q.id ? -1 : p.id > q.id ? 1 : 0)), skipped, issues };
}
