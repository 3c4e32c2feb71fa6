/**
 * The shape of `access` in `wg-mesh:mesh` as people write it. Lists of names may be written as one
 * name (`from: backends` is `from: [backends]`). Only shape lives here; what the names refer to,
 * and what the rules mean together, is checked in check.ts.
 */
import { z } from "zod";
import { hasUnprintable, quote } from "../quote";
import { ACCESS_ECHOES } from "./model";

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  if (typeof value === "string") return quote(value);
  return String(value);
}

/** Longest name or service text accepted: longer is never a real one. */
const MAX_TEXT = 64;
const MAX_LIST = 1000;

/** A list of plain one-line strings, or one such string standing for a list of one. */
export const nameList = (what: string) =>
  z.unknown().transform((value, ctx): string[] => {
    const list = typeof value === "string" ? [value] : Array.isArray(value) ? (value as unknown[]) : undefined;
    if (!list) {
      ctx.addIssue({ code: "custom", message: `must be ${what}, or a list of them, not ${describe(value)}` });
      return z.NEVER;
    }
    if (list.length > MAX_LIST) {
      ctx.addIssue({ code: "custom", message: `lists more than ${MAX_LIST} entries` });
      return z.NEVER;
    }
    let ok = true;
    list.forEach((v, i) => {
      const path = typeof value === "string" ? [] : [i];
      let message: string | undefined;
      if (typeof v !== "string") message = `must be ${what}, not ${describe(v)}`;
      else if (v.length === 0) message = `must not be empty: write ${what}`;
      else if (v.length > MAX_TEXT) message = `is ${v.length} characters long; at most ${MAX_TEXT}: write ${what}`;
      else if (hasUnprintable(v)) message = `${quote(v)} holds a line break, tab or control character; write ${what} on one plain line`;
      if (message) {
        ok = false;
        ctx.addIssue({ code: "custom", message, path });
      }
    });
    return ok ? (list as string[]) : z.NEVER;
  });

const echoSchema = z.unknown().transform((value, ctx): (typeof ACCESS_ECHOES)[number] => {
  if (typeof value === "string" && (ACCESS_ECHOES as readonly string[]).includes(value)) return value as (typeof ACCESS_ECHOES)[number];
  const off = value === false || value === "none" || value === "off";
  ctx.addIssue({
    code: "custom",
    message: off
      ? `must not turn ICMP echo off: ${describe(value)} would drop it between direct neighbours, which the failover watchdog probes each neighbour with; write neighbours (echo between direct neighbours only, elsewhere where a rule allows icmp)`
      : `must be one of ${ACCESS_ECHOES.join(", ")}, not ${describe(value)}`,
  });
  return z.NEVER;
});

export const groupSchema = z.strictObject(
  {
    roles: nameList("a role (hub, pop, backend)").optional(),
    regions: nameList("a region name").optional(),
    areas: nameList("an area name").optional(),
    clouds: nameList("a cloud (aws, gcp, azure, external)").optional(),
    sites: nameList("a site code").optional(),
    nodes: nameList("a node name").optional(),
    groups: nameList("a group name").optional(),
  },
  { error: (iss) => (iss.input === undefined ? "is required" : `must be a map such as { roles: [backend], areas: [apac] } or a list of node names, not ${describe(iss.input)}`) },
);

const ruleSchema = z.strictObject(
  {
    from: nameList("a group, a node or *"),
    to: nameList("a group, a node or *"),
    allow: nameList("a service such as tcp/443, udp/53, icmp or any"),
  },
  { error: (iss) => (iss.input === undefined ? "is required" : `must be a map { from, to, allow }, not ${describe(iss.input)}`) },
);

const testSchema = z.strictObject(
  {
    from: nameList("a group, a node or *"),
    to: nameList("a group, a node or *"),
    accept: nameList("a service such as tcp/443").optional(),
    deny: nameList("a service such as tcp/22").optional(),
  },
  { error: (iss) => (iss.input === undefined ? "is required" : `must be a map { from, to, accept, deny }, not ${describe(iss.input)}`) },
);

const list = <T extends z.ZodType>(item: T, what: string) =>
  z.array(item, { error: (iss) => `must be a list of ${what}, not ${describe(iss.input)}` }).max(MAX_LIST, { error: `lists more than ${MAX_LIST} ${what}` });

/**
 * The `access` block. Groups are a map checked entry by entry (check.ts), so one bad group does
 * not hide the others' problems and each is reported at its own path.
 */
export const accessSchema = z.strictObject(
  {
    groups: z.record(z.string(), z.unknown(), { error: (iss) => `must be a map of groups by name, not ${describe(iss.input)}` }).optional(),
    rules: list(ruleSchema, "rules").optional(),
    tests: list(testSchema, "tests").optional(),
    echo: echoSchema.optional(),
    adminFrom: nameList("a group or a node").optional(),
  },
  { error: (iss) => `must be a map with groups, rules, tests, echo and adminFrom, not ${describe(iss.input)}` },
);

export type RawAccess = z.infer<typeof accessSchema>;
export const ruleEntrySchema = ruleSchema;
export const testEntrySchema = testSchema;
export const echoEntrySchema = echoSchema;
export const endListSchema = nameList("a group or a node");
export type RawGroup = z.infer<typeof groupSchema>;
