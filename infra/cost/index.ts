/**
 * What a mesh costs a month, node by node (`wgmesh plan --cost`), from the shipped price table
 * (prices-2025.json: list prices with their date and sources): the VM at its size (the node's own,
 * or the default for its role), its public IPv4 address, its boot disk, its vault secrets (the
 * config entry and the node agent, in as many parts as its vault needs: docs/node-agent.md), and the vault reads its sync unit makes, one
 * of the entry per timer period (the agent's secret is read only when a node moves to a new agent). External nodes cost nothing in any cloud.
 * Data transfer depends on the traffic the mesh carries and is left out, as are free tiers.
 */
import prices from "./prices-2025.json";
import { awsInstanceType, azureVmSize, gcpMachineType } from "../host-defaults";
import type { Cloud, MeshSpec, NodeSpec } from "../model";
import { deployedAgent, type AgentBundle } from "../render/agent";
import { agentPartCount } from "../render/agent-parts";
import { timerUnit } from "../render/cloudinit";

/** One cloud's part of the table. */
interface CloudPrices {
  region: string;
  sources: string[];
  vmHourly: Record<string, number>;
  publicIpv4Hourly: number;
  disk: { what: string; gb: number; perGbMonth: number };
  secret: { what: string; perMonth: number };
  reads: { what: string; per10k: number };
}
export type PricedCloud = "aws" | "gcp" | "azure";

export interface CostItem {
  what: string;
  /** USD a month; undefined when the table has no price for it (a size it does not list). */
  monthly: number | undefined;
}

export interface NodeCost {
  name: string;
  role: string;
  cloud: string;
  /** The VM size the node gets. */
  size?: string;
  items: CostItem[];
  /** The sum of the items the table prices. */
  monthly: number;
  /** Items the table cannot price. */
  unpriced: string[];
}

export interface MeshCost {
  nodes: NodeCost[];
  monthly: number;
  /** The table's date, its reference regions and where its prices come from. */
  table: { date: string; currency: string; source: string; regions: Record<PricedCloud, string>; sources: Record<PricedCloud, string[]> };
  /** Vault reads per node and month, from the sync timer's period. */
  readsPerMonth: number;
}

/** The sync timer's period in minutes, as the unit that runs on every node has it. */
export function syncPeriodMinutes(): number {
  const m = /^OnUnitActiveSec=(\d+)(s|min)$/m.exec(timerUnit("wg0"));
  if (!m) throw new Error("the sync timer's period is not in seconds or minutes (infra/render/cloudinit.ts)");
  return m[2] === "min" ? Number(m[1]) : Number(m[1]) / 60;
}

/** Vault secrets of a node on `cloud`: its config entry and each part of its node agent (infra/render/agent-parts.ts). */
export function secretsPerNode(cloud: Cloud, agent: AgentBundle = deployedAgent()): { count: number; agentParts: number } {
  const agentParts = agentPartCount(cloud, agent.bytes);
  return { count: 1 + agentParts, agentParts };
}

/** The VM size a node runs on: its own, or the default for its role. */
export function nodeSize(node: NodeSpec): string | undefined {
  switch (node.cloud) {
    case "aws":
      return awsInstanceType(node.role, node.aws?.instanceType);
    case "gcp":
      return gcpMachineType(node.role, node.gcp?.machineType);
    case "azure":
      return azureVmSize(node.role, node.azure?.vmSize);
    default:
      return undefined;
  }
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

export function nodeCost(node: NodeSpec, readsPerMonth: number): NodeCost {
  const base = { name: node.name, role: node.role, cloud: node.cloud };
  if (node.cloud === "external") return { ...base, items: [], monthly: 0, unpriced: [] };
  const p: CloudPrices = prices[node.cloud];
  const size = nodeSize(node) as string;
  const hourly = p.vmHourly[size];
  const secrets = secretsPerNode(node.cloud);
  const items: CostItem[] = [
    { what: `VM ${size}`, monthly: hourly === undefined ? undefined : hourly * prices.hoursPerMonth },
    { what: "public IPv4 address", monthly: p.publicIpv4Hourly * prices.hoursPerMonth },
    { what: p.disk.what, monthly: p.disk.gb * p.disk.perGbMonth },
    { what: `${p.secret.what} x${secrets.count} (config entry, node agent${secrets.agentParts > 1 ? ` in ${secrets.agentParts} parts` : ""})`, monthly: secrets.count * p.secret.perMonth },
    { what: `${p.reads.what}, ${readsPerMonth.toLocaleString("en-US")} a month`, monthly: (readsPerMonth / 10_000) * p.reads.per10k },
  ];
  const priced = items.filter((i) => i.monthly !== undefined);
  return {
    ...base,
    size,
    items: items.map((i) => (i.monthly === undefined ? i : { ...i, monthly: round2(i.monthly) })),
    monthly: round2(priced.reduce((sum, i) => sum + (i.monthly as number), 0)),
    unpriced: items.filter((i) => i.monthly === undefined).map((i) => i.what),
  };
}

export function meshCost(spec: MeshSpec): MeshCost {
  // A month of the timer: 30.4 days of minutes, as hoursPerMonth counts them.
  const readsPerMonth = Math.round((prices.hoursPerMonth * 60) / syncPeriodMinutes());
  const nodes = spec.nodes.map((n) => nodeCost(n, readsPerMonth));
  const clouds = ["aws", "gcp", "azure"] as const;
  return {
    nodes,
    monthly: round2(nodes.reduce((sum, n) => sum + n.monthly, 0)),
    readsPerMonth,
    table: {
      date: prices.date,
      currency: prices.currency,
      source: prices.source,
      regions: Object.fromEntries(clouds.map((c) => [c, prices[c].region])) as Record<PricedCloud, string>,
      sources: Object.fromEntries(clouds.map((c) => [c, prices[c].sources])) as Record<PricedCloud, string[]>,
    },
  };
}

/** The sizes the table prices, per cloud: what a user can pick and still get a full estimate. */
export function pricedSizes(cloud: PricedCloud): string[] {
  return Object.keys(prices[cloud].vmHourly);
}
