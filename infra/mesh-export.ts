/**
 * The `mesh` stack output: what another stack needs to peer with this one's nodes, and
 * nothing secret. A stack lists only its own nodes, so every stack names every other one in
 * peerStacks and no node arrives twice by two routes.
 */
import { z } from "zod";
import type { MeshPlan, MeshSpec, Role, TopologyMode } from "./model";
import { ROLES, TOPOLOGIES } from "./model";
import { isWireGuardKey } from "./keys";
import { mayCarryTransit } from "./plan/transit";
import { hasUnprintable } from "./quote";

/** A node as other stacks see it. */
export interface ExportedNode {
  /** The node's name, unique across the stacks of a mesh. */
  name: string;
  /** hub, pop or backend. */
  role: Role;
  /** Its address-plan region. */
  region: string;
  /** Its location code. */
  site: string;
  /** Its overlay address, without prefix. */
  address: string;
  /** Its WireGuard public key. */
  publicKey: string;
  /** Host (IP or name) where the node listens, at listenPort; absent behind NAT (older stacks wrote null). */
  endpoint?: string;
  /** The MTU of its network, so that importing stacks derive the same tunnel MTU. */
  underlayMtu: number;
  /** Whether it may carry others' traffic, as its own stack's declaration decides (absent in older outputs: its role decides). */
  transit?: boolean;
}

/** A region as other stacks see it. */
export interface ExportedRegion {
  /** The region's name. */
  name: string;
  /** Its subnet. */
  subnet: string;
  /** The area it belongs to. */
  area: string;
}

/** What another stack needs to peer with this one's nodes; nothing secret. */
export interface MeshExport {
  /** The overlay's CIDR. */
  overlay: string;
  /** The UDP port every node listens on. */
  listenPort: number;
  /** Both stacks must plan with the same hub and topology, or they disagree about links. */
  hub: string;
  /** The topology both stacks plan with. */
  topology: TopologyMode;
  /** The regions this stack's nodes use. */
  regions: ExportedRegion[];
  /** This stack's own nodes. */
  nodes: ExportedNode[];
  /** Link ids ("a--b") with at least one end in this stack, so peers can see whether they agree. */
  links: string[];
}

/**
 * `spec` is the stack's own declaration (its nodes only); `plan` may include imported nodes.
 * `publicKeys` and `endpoints` cover the local nodes (endpoints only those with one).
 */
export function buildMeshExport(spec: MeshSpec, plan: MeshPlan, publicKeys: Readonly<Record<string, string>>, endpoints: Readonly<Record<string, string>>): MeshExport {
  const local = new Set(spec.nodes.map((n) => n.name));
  const usedRegions = new Set(spec.nodes.map((n) => n.region));
  const planned = new Map(plan.nodes.map((n) => [n.name, n]));
  return {
    overlay: spec.overlay,
    listenPort: spec.listenPort,
    hub: spec.hub,
    topology: spec.topology,
    regions: spec.regions.filter((r) => usedRegions.has(r.name)).map((r) => ({ name: r.name, subnet: r.subnet, area: r.area })),
    nodes: spec.nodes.map((n) => {
      const publicKey = publicKeys[n.name];
      if (publicKey === undefined) throw new Error(`no public key for ${n.name}`);
      return {
        name: n.name,
        role: n.role,
        region: n.region,
        site: n.site,
        address: n.address,
        publicKey,
        ...(endpoints[n.name] !== undefined ? { endpoint: endpoints[n.name] as string } : {}),
        underlayMtu: planned.get(n.name)?.underlayMtu ?? 1500,
        transit: mayCarryTransit(n, spec),
      };
    }),
    links: plan.links.filter((l) => local.has(l.a) || local.has(l.b)).map((l) => l.id),
  };
}

/** Text from another stack is data: one plain line, so nothing read from it can add a line to a file or message. */
const text = z
  .string()
  .min(1)
  .max(1024)
  .refine((v) => !hasUnprintable(v), { message: "holds a control character" });

/** Lenient about extra keys, so an older stack reads a newer one's output. */
export const meshExportSchema = z.object({
  overlay: text,
  listenPort: z.number().int().min(1).max(65535),
  hub: text,
  topology: z.enum(TOPOLOGIES),
  regions: z.array(z.object({ name: text, subnet: text, area: text })),
  nodes: z.array(
    z.object({
      name: text,
      role: z.enum(ROLES),
      region: text,
      site: text,
      address: text,
      publicKey: z.string().refine(isWireGuardKey, { message: "is not a WireGuard public key (44 characters of base64)" }),
      endpoint: text.nullish().transform((e) => e ?? undefined),
      underlayMtu: z.number().int().min(576).max(9216),
      transit: z.boolean().optional(),
    }),
  ),
  links: z.array(text).default([]),
});
