/**
 * The `access` block checked against the nodes it speaks of: every group, node, role, region, area,
 * cloud and site it names exists; no group is empty or contains itself; every port is in range;
 * every rule can match some flow (it has a pair of distinct nodes, and not everything it allows is
 * allowed before it); every test has something to check; and the nodes admins SSH from over the
 * mesh (`adminFrom`) keep tcp/22 to every other node. One issue per problem, naming its path.
 *
 * What the filter never touches needs no check here: it judges only packets arriving through the
 * tunnel, so the WireGuard handshake, the agent's vault fetch and SSH from adminCidrs (all on the
 * underlay) pass whatever the policy says; and ICMP echo between direct neighbours, which the
 * failover watchdog probes with, passes without a rule (schema.ts refuses turning echo off).
 */
import { CLOUDS, ROLES, type ConfigIssue } from "../model";
import { quote } from "../quote";
import { closest } from "../spelling";
import { formatPath, issuesFromZod } from "../config/issues";
import { GroupBook, hasAttributes } from "./groups";
import { AccessEcho, EVERY_NODE, type AccessGroup, type AccessRule, type AccessSpec, type AccessTest, type EndRef, type GroupSelector, type NodeFacts } from "./model";
import { Policy } from "./policy";
import { covers, emptySet, intersect, isEmpty, parseService, setOf, union, type ServiceItem } from "./services";
import { echoEntrySchema, endListSchema, groupSchema, ruleEntrySchema, testEntrySchema } from "./schema";

const GROUP_NAME = /^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/;
/** Names listed in a message before the rest are counted. */
const LISTED = 8;

export interface AccessContext {
  nodes: readonly NodeFacts[];
  /** Region names of the address plan. */
  regions: readonly string[];
  /** With peer stacks, groups may match nodes only those stacks bring: an empty group is a warning, not an error. */
  importsNodes: boolean;
}

function listed(names: readonly string[], max = LISTED): string {
  if (names.length === 0) return "none";
  return names.length > max ? `${names.slice(0, max).join(", ")} and ${names.length - max} more` : names.join(", ");
}

function unknownName(kind: string, value: string, known: readonly string[]): string {
  const guess = closest(value, [...known]);
  return `unknown ${kind} ${quote(value)}; ${guess ? `did you mean ${guess}?` : `${kind}s: ${listed([...known])}`}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkSelector(path: string, s: GroupSelector, ctx: AccessContext, groupNames: readonly string[], issues: ConfigIssue[]): boolean {
  let ok = true;
  const areas = [...new Set(ctx.nodes.map((n) => n.area))];
  const sites = [...new Set(ctx.nodes.map((n) => n.site).filter(Boolean))];
  const nodes = ctx.nodes.map((n) => n.name);
  const lists: [keyof GroupSelector, string, readonly string[]][] = [
    ["roles", "role", ROLES],
    ["clouds", "cloud", CLOUDS],
    ["regions", "region", ctx.regions],
    ["areas", "area", areas],
    ["sites", "site", sites],
    ["nodes", "node", nodes],
    ["groups", "group", groupNames],
  ];
  for (const [key, kind, known] of lists) {
    (s[key] ?? []).forEach((value, i) => {
      if (known.includes(value)) return;
      // A node or group of a peer stack is known only once the stack program reads it.
      if (ctx.importsNodes && (key === "nodes" || key === "sites")) return;
      ok = false;
      issues.push({ path: `${path}.${key}[${i}]`, message: unknownName(kind, value, known) });
    });
  }
  if (!hasAttributes(s) && (s.nodes ?? []).length === 0 && (s.groups ?? []).length === 0) {
    ok = false;
    issues.push({ path, message: "selects no node: give roles, regions, areas, clouds or sites to match, or nodes or groups to include" });
  }
  return ok;
}

/** The groups that contain themselves, through the groups they name. */
function cycles(groups: readonly AccessGroup[]): Map<string, string[]> {
  const byName = new Map(groups.map((g) => [g.name, g.selector.groups ?? []]));
  const out = new Map<string, string[]>();
  for (const g of groups) {
    const stack: [string, string[]][] = [[g.name, [g.name]]];
    const seen = new Set<string>();
    while (stack.length > 0) {
      const [at, trail] = stack.pop() as [string, string[]];
      for (const next of byName.get(at) ?? []) {
        if (next === g.name) {
          out.set(g.name, [...trail, next]);
          stack.length = 0;
          break;
        }
        if (!seen.has(next)) {
          seen.add(next);
          stack.push([next, [...trail, next]]);
        }
      }
    }
  }
  return out;
}

function readGroups(raw: Record<string, unknown> | undefined, ctx: AccessContext, issues: ConfigIssue[]): { groups: AccessGroup[]; broken: Set<string> } {
  const groups: AccessGroup[] = [];
  const broken = new Set<string>();
  const nodeNames = new Set(ctx.nodes.map((n) => n.name));
  const entries = Object.entries(raw ?? {});
  for (const [name, value] of entries) {
    const path = formatPath("access.groups", [name]);
    if (!GROUP_NAME.test(name)) {
      issues.push({ path, message: "a group name is 1-40 of a-z, 0-9 and -, starting with a letter; rename it" });
      continue;
    }
    if (nodeNames.has(name)) {
      issues.push({ path, message: `${name} is also a node's name, and rules name nodes and groups alike; rename the group` });
      broken.add(name);
      continue;
    }
    // A list of node names is short for { nodes: [...] }.
    const shaped = typeof value === "string" || Array.isArray(value) ? { nodes: value } : value;
    const r = groupSchema.safeParse(shaped);
    if (!r.success) {
      issues.push(...issuesFromZod(r.error, groupSchema, path));
      broken.add(name);
      continue;
    }
    const selector: GroupSelector = Object.fromEntries(Object.entries(r.data).filter(([, v]) => v !== undefined));
    groups.push({ name, selector });
  }
  const names = entries.map(([n]) => n);
  for (const g of groups) {
    if (!checkSelector(formatPath("access.groups", [g.name]), g.selector, ctx, names, issues)) broken.add(g.name);
  }
  for (const [name, trail] of cycles(groups)) {
    issues.push({ path: formatPath("access.groups", [name]), message: `contains itself (${trail.join(" -> ")}); a group may name only other groups` });
    broken.add(name);
  }
  return { groups, broken };
}

/** Ends of a rule or test that exist; an issue for each that does not. */
function checkEnds(path: string, refs: readonly EndRef[], book: GroupBook, broken: ReadonlySet<string>, ctx: AccessContext, issues: ConfigIssue[]): boolean {
  let ok = true;
  refs.forEach((ref, i) => {
    if (ref === EVERY_NODE || book.hasGroup(ref) || book.nodeNames.has(ref)) return;
    ok = false;
    if (broken.has(ref)) return; // reported where the group is declared
    if (ctx.importsNodes && /^[a-z][a-z0-9-]{0,23}$/.test(ref)) {
      ok = true; // a node of a peer stack, known once the stack program reads it
      return;
    }
    issues.push({ path: `${path}[${i}]`, message: `${unknownName("group or node", ref, [...book.groupNames, ...book.nodeNames])} (* is every node)` });
  });
  return ok;
}

function readServices(path: string, texts: readonly string[] | undefined, issues: ConfigIssue[]): ServiceItem[] | undefined {
  const out: ServiceItem[] = [];
  let ok = true;
  (texts ?? []).forEach((t, i) => {
    const s = parseService(t);
    if ("problem" in s) {
      ok = false;
      issues.push({ path: `${path}[${i}]`, message: `${quote(t)}: ${s.problem}` });
    } else out.push(s);
  });
  return ok ? out : undefined;
}

/** One rule that can never match a packet: why, or undefined when it can. */
function neverMatches(policy: Policy, j: number, echo: AccessSpec["echo"]): string | undefined {
  const rule = policy.rules[j];
  if (!rule) return undefined;
  const pairs = [...policy.classPairs()].filter(([a, b]) => rule.from.has(a) && rule.to.has(b));
  if (pairs.length === 0) {
    const only = [...rule.from].filter((n) => rule.to.has(n));
    if (rule.from.size === 0 || rule.to.size === 0) return undefined; // an empty group, reported on its own
    return `never matches: its only pair is ${only.join(", ")} to itself, and a node's traffic to itself never crosses the tunnel; remove it or widen from or to`;
  }
  const earlier = policy.rules.slice(0, j);
  const base = echo === AccessEcho.All ? setOf([{ kind: "icmp" }]) : emptySet();
  const coveredBy = new Set<number>();
  let echoUsed = false;
  for (const [a, b] of pairs) {
    let before = base;
    for (const e of earlier) {
      if (!e.from.has(a) || !e.to.has(b)) continue;
      before = union(before, e.services);
      if (!isEmpty(intersect(e.services, rule.services))) coveredBy.add(e.rule.index);
    }
    if (!covers(before, rule.services)) return undefined;
    if (echo === AccessEcho.All && rule.services.icmp) echoUsed = true;
  }
  const by = [...coveredBy].sort((x, y) => x - y).map((i) => `access.rules[${i}]`);
  if (echoUsed) by.push("echo: all (icmp between every pair)");
  return `never matches: everything it allows is allowed before it, by ${by.join(" and ")}; remove it${echoUsed && by.length === 1 ? ", or set echo: neighbours" : ""}`;
}

/** Nodes admins cannot reach on tcp/22 from any adminFrom node, given the rules. */
function lockedOut(policy: Policy, admins: ReadonlySet<string>): string[] {
  const ssh = setOf([{ kind: "ports", proto: "tcp", range: { lo: 22, hi: 22 } }]);
  const out: string[] = [];
  for (const n of policy.book.nodes) {
    if (admins.has(n.name)) continue;
    const reached = [...admins].some((a) => covers(policy.allowed(a, n.name), ssh));
    if (!reached) out.push(n.name);
  }
  return out;
}

function entries(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A value of a sub-schema, or undefined when it does not parse (the mesh schema reports why). */
function parsed<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }, value: unknown): T | undefined {
  const r = schema.safeParse(value);
  return r.success ? r.data : undefined;
}

/**
 * Validates `access`; undefined when it is absent (the flat mesh) or when any problem was found
 * (pushed to `issues`). Shape problems of rules, tests, echo and adminFrom are the mesh schema's to
 * report; what parsed is checked here, entry by entry, so one bad entry hides nothing else.
 * Warnings are for what may be right only once peer stacks are read.
 */
export function checkAccess(raw: unknown, ctx: AccessContext, issues: ConfigIssue[], warnings: ConfigIssue[] = []): AccessSpec | undefined {
  if (raw === undefined || !isPlainObject(raw)) return undefined;
  const before = issues.length;
  const { groups, broken } = readGroups(isPlainObject(raw.groups) ? raw.groups : undefined, ctx, issues);
  const book = new GroupBook({ groups }, ctx.nodes);
  const unusable = new Set(broken);
  for (const g of groups) {
    if (broken.has(g.name) || book.group(g.name).size > 0) continue;
    unusable.add(g.name);
    const issue = { path: formatPath("access.groups", [g.name]), message: "matches no node; correct what it selects, or remove it and the rules that name it" };
    if (ctx.importsNodes) warnings.push({ ...issue, message: `${issue.message} (unless peer stacks bring such nodes)` });
    else issues.push(issue);
  }
  const usable = (refs: readonly EndRef[]) => refs.every((r) => !unusable.has(r));

  const rules: AccessRule[] = [];
  let rulesWhole = true;
  entries(raw.rules).forEach((value, index) => {
    const r = parsed(ruleEntrySchema, value);
    if (!r) {
      rulesWhole = false;
      return;
    }
    const path = `access.rules[${index}]`;
    const fromOk = checkEnds(`${path}.from`, r.from, book, broken, ctx, issues);
    const toOk = checkEnds(`${path}.to`, r.to, book, broken, ctx, issues);
    const services = readServices(`${path}.allow`, r.allow, issues);
    if (services && services.length === 0) issues.push({ path: `${path}.allow`, message: "allows nothing; list services such as tcp/443, or remove the rule" });
    if (fromOk && toOk && services && services.length > 0) rules.push({ index, from: r.from, to: r.to, services });
    else rulesWhole = false;
  });

  const tests: AccessTest[] = [];
  entries(raw.tests).forEach((value, index) => {
    const t = parsed(testEntrySchema, value);
    if (!t) return;
    const path = `access.tests[${index}]`;
    const fromOk = checkEnds(`${path}.from`, t.from, book, broken, ctx, issues);
    const toOk = checkEnds(`${path}.to`, t.to, book, broken, ctx, issues);
    const accept = readServices(`${path}.accept`, t.accept, issues);
    const deny = readServices(`${path}.deny`, t.deny, issues);
    if (accept && deny && accept.length + deny.length === 0) {
      issues.push({ path, message: "checks nothing; give accept (services every pair must get) or deny (services no pair may get)" });
      return;
    }
    if (!fromOk || !toOk || !accept || !deny) return;
    const from = book.ends(t.from);
    const to = book.ends(t.to);
    if (from.size > 0 && to.size > 0 && ![...from].some((a) => [...to].some((b) => a !== b))) {
      issues.push({ path, message: "has no pair of distinct nodes to check (a node to itself never crosses the tunnel); widen from or to" });
      return;
    }
    tests.push({ index, from: t.from, to: t.to, accept, deny });
  });

  const echo = raw.echo === undefined ? AccessEcho.All : parsed(echoEntrySchema, raw.echo);
  const adminFrom = raw.adminFrom === undefined ? [] : parsed(endListSchema, raw.adminFrom);
  const adminOk = adminFrom !== undefined && checkEnds("access.adminFrom", adminFrom, book, broken, ctx, issues);

  // What the rules mean together, over the rules whose ends are all usable.
  const judged = rules.filter((r) => usable(r.from) && usable(r.to));
  const policy = new Policy({ echo: echo ?? AccessEcho.All, groups, rules: judged, tests: [], adminFrom: [] }, book);
  if (echo !== undefined) {
    judged.forEach((r, j) => {
      const why = neverMatches(policy, j, echo);
      if (why) issues.push({ path: `access.rules[${r.index}]`, message: why });
    });
  }
  if (adminOk && rulesWhole && adminFrom.length > 0 && usable(adminFrom) && judged.length === rules.length) {
    const admins = book.ends(adminFrom);
    const locked = lockedOut(policy, admins);
    if (locked.length > 0) {
      issues.push({
        path: "access.adminFrom",
        message:
          `admins SSH in over the mesh from ${listed([...admins])}, but no rule lets them reach tcp/22 on ${listed(locked)}, which would lock them out; ` +
          `add a rule such as { from: [${adminFrom.join(", ")}], to: "*", allow: [tcp/22] }`,
      });
    }
  }
  if (issues.length > before || echo === undefined || adminFrom === undefined) return undefined;
  return { echo, groups, rules, tests, adminFrom };
}
