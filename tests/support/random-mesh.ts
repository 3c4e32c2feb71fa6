/**
 * Random but valid meshes from a seed: the same seed always gives the same mesh, so a
 * failing property test or lab run names a mesh anyone can rebuild.
 */
import { formatIPv4, parseIPv4 } from "../../infra/cidr";
import { MeshConfigError, type Cloud, type MeshPlan, type MeshSpec, type NodeSpec, type RegionSpec, type Role, type TopologyMode } from "../../infra/model";
import { planMesh } from "../../infra/plan";

/** mulberry32: tiny, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RandomMeshOptions {
  minNodes?: number;
  maxNodes?: number;
  topologies?: TopologyMode[];
  /** Chance that a backend is an external node behind NAT (no endpoint). */
  natChance?: number;
}

export function randomMeshSpec(seed: number, opts: RandomMeshOptions = {}): MeshSpec {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const int = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
  const minNodes = opts.minNodes ?? 2;
  const maxNodes = opts.maxNodes ?? 10;
  const n = int(minNodes, maxNodes);
  const areas = ["eu", "am", "ap"].slice(0, int(1, 3));
  const regionCount = int(1, 4);
  const overlay = "10.77.0.0/16";
  const regions: RegionSpec[] = Array.from({ length: regionCount }, (_, i) => ({
    name: `r${i}`,
    subnet: `10.77.${i * 4}.0/${pick([22, 24, 26])}`,
    area: pick(areas),
  }));
  const used = new Set<string>();
  const nodes: NodeSpec[] = [];
  for (let i = 0; i < n; i++) {
    const role: Role = i === 0 ? "hub" : pick(["pop", "backend", "backend"] as const);
    const region = pick(regions);
    const base = parseIPv4(region.subnet.split("/")[0] as string) as number;
    const size = 2 ** (32 - Number(region.subnet.split("/")[1]));
    let address = "";
    do address = formatIPv4(base + int(1, size - 2));
    while (used.has(address));
    used.add(address);
    const natted = role === "backend" && r() < (opts.natChance ?? 0.15);
    const cloud: Cloud = natted ? "external" : pick(["aws", "gcp", "azure", "external"] as const);
    const node: NodeSpec = { name: `n${i}`, role, region: region.name, site: `s${i}`, address, cloud, links: [] };
    if (cloud === "aws") node.aws = { region: "eu-west-1" };
    if (cloud === "gcp") node.gcp = { project: "p", region: "europe-west1", zone: "europe-west1-b" };
    if (cloud === "azure") node.azure = { location: "westeurope" };
    if (cloud === "external") node.external = natted ? {} : { endpoint: `198.18.${100 + i}.1` };
    nodes.push(node);
  }
  // A few explicit links on top, never between two NATed nodes (that is a config error).
  const extra = int(0, Math.min(3, n - 1));
  for (let k = 0; k < extra; k++) {
    const a = pick(nodes);
    const b = pick(nodes);
    const natted = (x: NodeSpec) => x.cloud === "external" && !x.external?.endpoint;
    if (a === b || (natted(a) && natted(b))) continue;
    if (a.links.some((l) => l.peer === b.name) || b.links.some((l) => l.peer === a.name)) continue;
    a.links.push(r() < 0.5 ? { peer: b.name } : { peer: b.name, weight: int(1, 300) });
  }
  return withoutTransitThroughSpokes({
    overlay,
    listenPort: 51820,
    persistentKeepalive: 25,
    mtu: "auto",
    topology: pick(opts.topologies ?? ["hub", "regional", "full"]),
    hub: "n0",
    keyEpoch: 1,
    presharedKeys: r() < 0.3,
    adminCidrs: [],
    peerStacks: [],
    regions,
    nodes,
  });
}

/**
 * The spec without the explicit links the planner refuses because they would route others'
 * traffic through a backend or a node behind NAT (random weights make plenty of those).
 */
export function withoutTransitThroughSpokes(spec: MeshSpec): MeshSpec {
  for (;;) {
    let refused: { node: string; index: number }[] = [];
    try {
      planMesh(spec);
    } catch (err) {
      if (!(err instanceof MeshConfigError)) throw err;
      refused = err.issues
        .filter((i) => i.message.includes("the cheapest way between"))
        .map((i) => /^nodes\.([^.]+)\.links\[(\d+)\]$/.exec(i.path))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ node: m[1] as string, index: Number(m[2]) }));
    }
    if (refused.length === 0) return spec;
    const { node, index } = refused[0] as { node: string; index: number };
    const n = spec.nodes.find((x) => x.name === node) as NodeSpec;
    n.links = n.links.filter((_, i) => i !== index);
  }
}

/**
 * A random mesh asking for resilience: nodes 1 and 2 are POPs, so with the hub it has routers to
 * fail over between. The planner may still refuse it (a POP behind NAT, say): callers skip those.
 */
export function randomResilientSpec(seed: number, opts: RandomMeshOptions = {}): MeshSpec {
  const spec = randomMeshSpec(seed, opts);
  spec.resilience = "node";
  spec.nodes.forEach((n, i) => {
    if (i > 0 && i < 3) n.role = "pop";
  });
  return spec;
}

/**
 * Planned random resilient meshes by seed (1, 2, ... below `maxSeed`), skipping those the planner
 * refuses, for as long as the caller takes them.
 */
export function* resilientPlans(opts: RandomMeshOptions, maxSeed: number): Generator<{ seed: number; plan: MeshPlan }> {
  for (let seed = 1; seed < maxSeed; seed++) {
    try {
      yield { seed, plan: planMesh(randomResilientSpec(seed, opts)) };
    } catch (err) {
      if (!(err instanceof MeshConfigError)) throw err;
    }
  }
}
