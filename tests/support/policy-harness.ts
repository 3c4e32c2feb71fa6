/**
 * Runs the pack's real policy functions the way the policy runtime does, over resources recorded
 * by the synth harness (stacks/synth/run.ts) or made by hand: each resource policy on every custom
 * resource's inputs, each stack policy once over all of them, with parents linked and each
 * policy's config its schema defaults merged with what the test gives.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { unwrapSecrets } from "../../stacks/synth/mock-cloud";
import type { RecordedResource } from "../../stacks/synth/run";

export type AnyPolicy = ResourceValidationPolicy | StackValidationPolicy;

export interface Violation {
  policy: string;
  /** The resource's name, or "stack". */
  resource: string;
  message: string;
}

export interface HarnessResource {
  urn: string;
  type: string;
  name: string;
  parent?: string;
  custom: boolean;
  props: Record<string, unknown>;
}

/** Inputs of custom resources (what a preview's policies see), outputs of components, and the id. */
export function fromRecorded(resources: readonly RecordedResource[]): HarnessResource[] {
  return resources.map((r) => ({
    urn: r.urn,
    type: r.type,
    name: r.name,
    ...(r.parent ? { parent: r.parent } : {}),
    custom: r.custom,
    props: { ...(unwrapSecrets(r.custom ? r.inputs : (r.outputs ?? {})) as Record<string, unknown>), ...(r.id ? { id: r.id } : {}) },
  }));
}

function configOf(policy: AnyPolicy, overrides: Record<string, unknown>): Record<string, unknown> {
  const defaults = Object.fromEntries(Object.entries(policy.configSchema?.properties ?? {}).map(([k, v]) => [k, (v as { default?: unknown }).default]));
  return { ...defaults, ...overrides };
}

function unsupported(): never {
  throw new Error("not used by wg-mesh's policies");
}

export async function runPolicies(policies: readonly AnyPolicy[], resources: readonly HarnessResource[], config: Record<string, Record<string, unknown>> = {}): Promise<Violation[]> {
  const byUrn = new Map<string, PolicyResource>();
  for (const r of resources) {
    byUrn.set(r.urn, {
      type: r.type,
      props: r.props,
      urn: r.urn,
      name: r.name,
      opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
      dependencies: [],
      propertyDependencies: {},
      isType: unsupported,
      asType: unsupported,
    } as unknown as PolicyResource);
  }
  for (const r of resources) {
    const parent = r.parent ? byUrn.get(r.parent) : undefined;
    if (parent) (byUrn.get(r.urn) as { parent?: PolicyResource }).parent = parent;
  }
  const out: Violation[] = [];
  for (const policy of policies) {
    // As CrossGuard runs a pack: a policy at "disabled" (its default, or the stack's config) is not run.
    const level = (config[policy.name] as { enforcementLevel?: string } | undefined)?.enforcementLevel ?? policy.enforcementLevel;
    if (level === "disabled") continue;
    const cfg = configOf(policy, config[policy.name] ?? {});
    if ("validateResource" in policy && policy.validateResource) {
      const fns = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
      for (const r of resources.filter((x) => x.custom)) {
        for (const fn of fns) {
          await fn(
            {
              type: r.type,
              props: r.props,
              urn: r.urn,
              name: r.name,
              opts: (byUrn.get(r.urn) as PolicyResource).opts,
              stackTags: new Map(),
              isType: unsupported,
              asType: unsupported,
              getConfig: <T extends object>() => cfg as T,
              notApplicable: unsupported,
            },
            (message) => out.push({ policy: policy.name, resource: r.name, message }),
          );
        }
      }
    }
    if ("validateStack" in policy) {
      await policy.validateStack(
        { resources: [...byUrn.values()], stackTags: new Map(), getConfig: <T extends object>() => cfg as T, notApplicable: unsupported },
        (message, urn) => out.push({ policy: policy.name, resource: urn ? ((byUrn.get(urn)?.name as string) ?? urn) : "stack", message }),
      );
    }
  }
  return out;
}
