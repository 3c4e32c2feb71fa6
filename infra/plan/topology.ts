/**
 * Which node pairs get a WireGuard link. Every mode starts from the same rule — a link
 * needs at least one end reachable at a public endpoint — and adds explicit links on top.
 * A link's weight is the latency model's round trip between its ends' sites when it knows
 * both, so paths minimise latency; otherwise the estimate by area.
 */
import { latencyModelFor, type LatencyModel } from "../latency/model";
import type { ConfigIssue, MeshSpec, PlannedLink, SkippedLink, LinkOrigin } from "../model";
import { autoLinks, ADDITIVE_SLACK_MS, DEFAULT_MAX_PEERS, DEFAULT_MAX_STRETCH } from "./auto";
import { linkId, type NodeFacts } from "./facts";
import { mayCarryTransit } from "./transit";
import { defaultLinkWeight } from "./weights";

export { linkId, type NodeFacts } from "./facts";

export interface CandidateLinks {
  links: PlannedLink[];
  skipped: SkippedLink[];
  issues: ConfigIssue[];
}

/** The model's round trip between two nodes' sites, or the estimate by area when it cannot place one. */
export function linkWeight(model: LatencyModel, a: NodeFacts, b: NodeFacts): number {
  return model.rttMs(a.spec.site, b.spec.site) ?? defaultLinkWeight(a.area, b.area);
}

export function candidateLinks(spec: MeshSpec, facts: Map<string, NodeFacts>): CandidateLinks {
  const links = new Map<string, PlannedLink>();
  const skipped: SkippedLink[] = [];
  const issues: ConfigIssue[] = [];
  const model = latencyModelFor(spec);

  const add = (a: string, b: string, origin: LinkOrigin, weight?: number): boolean => {
    const fa = facts.get(a) as NodeFacts;
    const fb = facts.get(b) as NodeFacts;
    if (!fa.hasPublicEndpoint && !fb.hasPublicEndpoint) {
      skipped.push({ a, b, reason: "neither end has a public endpoint (both behind NAT)" });
      return false;
    }
    const id = linkId(a, b);
    const [x, y] = a < b ? [a, b] : [b, a];
    links.set(id, { id, a: x, b: y, weight: weight ?? linkWeight(model, fa, fb), origin });
    return true;
  };

  const names = spec.nodes.map((n) => n.name);
  const hub = spec.hub;
  if (spec.topology === "auto") {
    const unplaced = spec.nodes.filter((n) => !model.knowsSite(n.site) && !spec.nodes.every((m) => model.rttMs(n.site, m.site) !== undefined));
    for (const n of unplaced) {
      issues.push({ path: `nodes.${n.name}.site`, message: `topology auto needs to know where ${n.site} is: add latency.sites.${n.site}: { lat, lon } or use a known site code` });
    }
    if (unplaced.length === 0) {
      const explicit = new Map<string, number>();
      for (const n of spec.nodes) for (const l of n.links) for (const end of [n.name, l.peer]) explicit.set(end, (explicit.get(end) ?? 0) + 1);
      const auto = autoLinks(
        spec.nodes.map((n) => ({
          name: n.name,
          site: n.site,
          public: (facts.get(n.name) as NodeFacts).hasPublicEndpoint,
          transit: mayCarryTransit(n, spec),
          role: n.role,
          explicitPeers: explicit.get(n.name) ?? 0,
        })),
        model,
        { maxStretch: spec.maxStretch ?? DEFAULT_MAX_STRETCH, maxPeers: spec.maxPeers ?? DEFAULT_MAX_PEERS, slackMs: ADDITIVE_SLACK_MS },
      );
      for (const l of auto) add(l.a, l.b, "auto", l.rttMs);
    }
  } else if (spec.topology === "full") {
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
