/**
 * Random but valid access policies for a mesh, from a seed: groups by role, region, area, cloud,
 * explicit nodes and unions of other groups; one to four rules between groups, nodes and "*" on a
 * small pool of services; echo to every node or to neighbours only. The engine's own checker
 * decides what is valid: a draw it refuses (an empty group, a rule that never matches) is drawn
 * again, so the same seed always gives the same policy.
 */
import { checkAccess } from "../../infra/access/check";
import type { AccessSpec, NodeFacts } from "../../infra/access/model";
import type { ConfigIssue, MeshSpec } from "../../infra/model";
import { rng } from "./random-mesh";

/** Services rules draw from; the probes cover each of them. */
export const SERVICE_POOL = ["tcp/22", "tcp/443", "tcp/8000-8010", "udp/53", "udp/5353", "tcp", "udp", "icmp", "any"] as const;

export function nodeFactsOfSpec(spec: MeshSpec): NodeFacts[] {
  const area = new Map(spec.regions.map((r) => [r.name, r.area]));
  return spec.nodes.map((n) => ({ name: n.name, role: n.role, region: n.region, area: area.get(n.region) ?? n.region, cloud: n.cloud, site: n.site }));
}

/** The raw `access` block a seed draws for a mesh (not yet checked). */
export function randomAccessRaw(spec: MeshSpec, seed: number): Record<string, unknown> {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const some = <T>(xs: readonly T[], max: number): T[] => {
    const n = 1 + Math.floor(r() * Math.min(max, xs.length));
    return [...xs].sort(() => r() - 0.5).slice(0, n);
  };
  const facts = nodeFactsOfSpec(spec);
  const names = facts.map((n) => n.name);
  const groups: Record<string, unknown> = {};
  const groupCount = 1 + Math.floor(r() * 3);
  for (let i = 0; i < groupCount; i++) {
    const kind = pick(["roles", "areas", "regions", "clouds", "nodes", "mixed", "union"] as const);
    const earlier = Object.keys(groups);
    switch (kind) {
      case "roles":
        groups[`g${i}`] = { roles: some([...new Set(facts.map((n) => n.role))], 2) };
        break;
      case "areas":
        groups[`g${i}`] = { areas: some([...new Set(facts.map((n) => n.area))], 1) };
        break;
      case "regions":
        groups[`g${i}`] = { regions: some([...new Set(facts.map((n) => n.region))], 2) };
        break;
      case "clouds":
        groups[`g${i}`] = { clouds: some([...new Set(facts.map((n) => n.cloud))], 2) };
        break;
      case "nodes":
        groups[`g${i}`] = some(names, 3);
        break;
      case "mixed":
        groups[`g${i}`] = { roles: [pick(facts).role], areas: [pick(facts).area], nodes: [pick(names)] };
        break;
      case "union":
        groups[`g${i}`] = earlier.length > 0 ? { groups: some(earlier, 2), nodes: [pick(names)] } : { nodes: [pick(names)] };
        break;
    }
  }
  const ends = [...Object.keys(groups), ...names, "*"];
  const rules = Array.from({ length: 1 + Math.floor(r() * 4) }, () => ({ from: some(ends, 2), to: some(ends, 2), allow: some(SERVICE_POOL, 2) }));
  return { echo: r() < 0.5 ? "all" : "neighbours", groups, rules };
}

/** A policy the checker accepts: the first valid draw from `seed` on (a refused rule is dropped first). */
export function randomAccess(spec: MeshSpec, seed: number): { access: AccessSpec; raw: Record<string, unknown>; seed: number } {
  const ctx = { nodes: nodeFactsOfSpec(spec), regions: spec.regions.map((r) => r.name), importsNodes: false };
  for (let s = seed; s < seed + 1000; s++) {
    const raw = randomAccessRaw(spec, s);
    for (let tries = 0; tries < 5; tries++) {
      const issues: ConfigIssue[] = [];
      const access = checkAccess(raw, ctx, issues);
      if (access) return { access, raw, seed: s };
      // A rule that never matches is the commonest refusal: drop it and check again.
      const never = issues.map((i) => /^access\.rules\[(\d+)\]$/.exec(i.path)).find((m) => m !== null);
      if (!never || issues.length !== 1) break;
      (raw.rules as unknown[]).splice(Number(never[1]), 1);
    }
  }
  throw new Error(`no valid access policy drawn from seed ${seed}`);
}
