/**
 * What the stack outputs say about access (the Mesh's `summary.access`), and how the policy pack
 * reads it back: one shape, written and read here only.
 */
import type { AccessSpec } from "./model";

/** The access policy of a mesh, in the Mesh's summary output. */
export interface AccessSummary {
  /** Whether the declaration has an access block; without one every node reaches every other on every port. */
  declared: boolean;
  /** How many groups it names. */
  groups: number;
  /** How many allow rules it has. */
  rules: number;
  /** How many tests it carries (each held in the simulator before deploy). */
  tests: number;
  /** Which ICMP echo passes without a rule: all, neighbours, or empty without a policy. */
  echo: string;
}

export function accessSummary(spec: AccessSpec | undefined): AccessSummary {
  if (!spec) return { declared: false, groups: 0, rules: 0, tests: 0, echo: "" };
  return { declared: true, groups: spec.groups.length, rules: spec.rules.length, tests: spec.tests.length, echo: spec.echo };
}

/** From a Mesh's summary output: whether it declares access; undefined when the value is not known (preview) or not a summary. */
export function accessDeclaredIn(summary: unknown): boolean | undefined {
  if (typeof summary !== "object" || summary === null) return undefined;
  const access = (summary as { access?: unknown }).access;
  if (typeof access !== "object" || access === null) return undefined;
  const declared = (access as { declared?: unknown }).declared;
  return typeof declared === "boolean" ? declared : undefined;
}

/** Whether a stack name is one of the environments listed (`*` matches any run of characters). */
export function environmentListed(stack: string, environments: readonly string[]): boolean {
  return environments.some((e) => new RegExp(`^${e.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(stack));
}
