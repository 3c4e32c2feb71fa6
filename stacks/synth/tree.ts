/** A recorded run as a reviewer reads it: the resource tree by parent, and a count per type. */
import * as pulumi from "@pulumi/pulumi";
import type { RecordedResource } from "./run";

export interface SynthJson {
  project: string;
  stack: string;
  /** `aliases`: the old URNs each resource would take over in an existing stack. */
  /** `inputs`: what would be sent to the cloud, secret values as "[secret]". */
  resources: { urn: string; type: string; name: string; parent: string | null; provider: string | null; aliases: string[]; inputs: Record<string, unknown> }[];
  counts: Record<string, number>;
  total: number;
  /** Stack outputs with secret values replaced by "[secret]". */
  outputs: Record<string, unknown>;
  warnings: string[];
}

export function countByType(resources: readonly RecordedResource[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** What `pulumi stack output` shows without --show-secrets. */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (o[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return "[secret]";
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, maskSecrets(v)]));
  }
  return value;
}

export function synthJson(project: string, stack: string, resources: readonly RecordedResource[], outputs: Record<string, unknown>, warnings: string[]): SynthJson {
  return {
    project,
    stack,
    resources: resources.map((r) => ({
      urn: r.urn,
      type: r.type,
      name: r.name,
      parent: r.parent ?? null,
      provider: r.provider ?? null,
      aliases: r.aliases,
      inputs: maskSecrets(r.inputs) as Record<string, unknown>,
    })),
    counts: countByType(resources),
    total: resources.length,
    outputs: maskSecrets(outputs) as Record<string, unknown>,
    warnings,
  };
}

/** Each resource under its parent, siblings in the order the program made them. */
export function formatTree(resources: readonly RecordedResource[]): string[] {
  const children = new Map<string, RecordedResource[]>();
  for (const r of resources) {
    const key = r.parent ?? "";
    children.set(key, [...(children.get(key) ?? []), r]);
  }
  const lines: string[] = [];
  const walk = (r: RecordedResource, prefix: string, last: boolean, root: boolean): void => {
    const provider = r.provider ? `  (provider ${r.provider})` : "";
    lines.push(root ? `${r.type}  ${r.name}` : `${prefix}${last ? "└─ " : "├─ "}${r.type}  ${r.name}${provider}`);
    const kids = children.get(r.urn) ?? [];
    const next = root ? "" : `${prefix}${last ? "   " : "│  "}`;
    kids.forEach((k, i) => walk(k, next, i === kids.length - 1, false));
  };
  for (const root of children.get("") ?? []) walk(root, "", true, true);
  return lines;
}

export function formatCounts(counts: Record<string, number>): string[] {
  const width = Math.max(...Object.values(counts).map((n) => String(n).length));
  return Object.entries(counts).map(([type, n]) => `  ${String(n).padStart(width)}  ${type}`);
}
