/**
 * A deployed stack's state as the engine would compare it on the next `pulumi up`: every custom
 * resource by type and name, with the inputs it was last sent, the inputs it ignores, and whether a
 * replacement deletes it first. Long strings (user data, configs) and secret values are kept as their
 * sha256, so a snapshot is small, holds no key, and still tells a changed byte from none.
 *
 * `npx tsx tests/support/state-snapshot.ts prod` prints the snapshot of the stack program in this
 * tree; tests/data/state/ holds the ones taken of released code, named after its commit.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { freshRequire, runUnderMocks, type MockRun } from "../../stacks/synth/run";
import { stackConfig } from "../../workspace/project";
import type { AgentBundle } from "../../infra/render/agent";

export interface StateResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  ignoreChanges: string[];
  deleteBeforeReplace: boolean;
}

export interface StateSnapshot {
  /** Where it was taken: the commit and stack. */
  source: string;
  resources: StateResource[];
}

const LONG = 200;

function digest(text: string): string {
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

/** Inputs as a snapshot keeps them: secrets and long strings as digests. */
export function snapshotValue(value: unknown): unknown {
  if (typeof value === "string") return value.length > LONG ? digest(value) : value;
  if (Array.isArray(value)) return value.map(snapshotValue);
  if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (o[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return { secret: digest(JSON.stringify(o.value)) };
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, snapshotValue(v)]));
  }
  return value;
}

export function snapshotOf(run: MockRun, source: string): StateSnapshot {
  return {
    source,
    resources: run.resources
      .filter((r) => r.custom)
      .map((r) => ({ type: r.type, name: r.name, inputs: snapshotValue(r.inputs) as Record<string, unknown>, ignoreChanges: r.ignoreChanges ?? [], deleteBeforeReplace: r.deleteBeforeReplace })),
  };
}

export async function runStack(stack: string, opts: { preview?: boolean; existing?: ReadonlySet<string>; agent?: AgentBundle } = {}): Promise<MockRun> {
  const repo = join(__dirname, "..", "..");
  const cfg = stackConfig(join(repo, `Pulumi.${stack}.yaml`));
  return runUnderMocks({
    project: "wg-mesh",
    stack,
    config: cfg.config,
    secretKeys: cfg.secretKeys,
    program: () => freshRequire(join(repo, "stacks", "index.ts")),
    ...(opts.preview ? { preview: true, existing: opts.existing ?? new Set() } : {}),
    ...(opts.agent ? { agent: opts.agent } : {}),
  });
}

if (require.main === module) {
  const stack = process.argv[2] ?? "prod";
  const source = process.argv[3] ?? `stack ${stack}`;
  void runStack(stack).then((run) => process.stdout.write(`${JSON.stringify(snapshotOf(run, source), null, 1)}\n`));
}
