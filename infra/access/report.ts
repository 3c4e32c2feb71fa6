/**
 * What a policy does on a planned mesh, proven in the simulator: every ordered pair's path (from the
 * WireGuard simulator) judged by the compiled rulesets of the nodes on it. Out come the policy as a
 * matrix of groups by groups (what each may open to each), the pairs no rule allows, and the
 * verdict of every test the declaration carries, with where and why a failing flow goes.
 * Pairs stream through `onPair`, so a mesh of thousands of nodes is judged without keeping its paths.
 */
import type { MeshPlan } from "../model";
import { simulatePlanSummary } from "../simulate/plan";
import { compileAccess, type CompiledAccess } from "./compile";
import { EVERY_NODE, ruleNumber, type AccessRule, type AccessTest } from "./model";
import { renderRuleset, rulesetHeader } from "./nft";
import { FilterModel, verdictText, type PathOfPair } from "./simulate";
import { covers, formatSet, formatService, intersect, isEmpty, probeIn, setOf, setParts, subtract, union, type ServiceSet } from "./services";

/** Axes of the matrix when no group is declared: every node, up to this many. */
const MATRIX_NODES_MAX = 20;
/** Failing pairs named per test before the rest are counted. */
const TEST_EXAMPLES = 5;
/** Sources listed among the pairs no rule allows before the rest are counted, and destinations per source. */
const NO_RULE_SOURCES = 30;
const NO_RULE_TARGETS = 15;

export interface TestFailure {
  from: string;
  to: string;
  /** The service the test names, as written. */
  service: string;
  expected: "allowed" | "denied";
  /** What the simulator found, e.g. "dropped at ireland (input: no rule allows hkg -> ireland tcp/443)". */
  found: string;
}

export interface TestResult {
  index: number;
  text: string;
  pairs: number;
  failures: number;
  examples: TestFailure[];
}

/** One ordered pair under the policy: what passes end to end, and each declared rule's services judged on its path. */
export interface PairFlows {
  from: string;
  to: string;
  /** Everything that passes from `from` to `to`, e.g. "tcp/443, icmp", or "nothing". */
  allowed: string;
  rules: {
    rule: number;
    /** Whether the rule names this pair (from in its from, to in its to). */
    applies: boolean;
    /** Each service of the rule, probed on this pair: "allowed by rule 1", or "dropped at ireland (...)". */
    services: { service: string; verdict: string }[];
  }[];
}

export interface AccessReport {
  echo: string;
  groups: { name: string; members: string[] }[];
  rules: { number: number; text: string; pairs: number }[];
  /** Rows may open to columns: the services every pair gets, a `*` on those only some pairs get. */
  matrix?: { axis: "groups" | "nodes"; names: string[]; cells: string[][] };
  /** Ordered pairs no declared rule allows anything between (ICMP echo may still pass), by source. */
  noRule: { pairs: number; bySource: { from: string; to: string[]; /** Destinations beyond those listed. */ more: number }[]; sourcesOmitted: number };
  tests: TestResult[];
  failedTests: number;
  rulesets: { nodes: number; forwarding: number; largest?: { node: string; bytes: number } };
  /** Ordered pairs judged. */
  pairs: number;
  /** Every ordered pair x every rule, when asked for (plan --json on a small mesh, or with --pairs). */
  flows?: PairFlows[];
}

function endText(refs: readonly string[]): string {
  return refs.map((r) => (r === EVERY_NODE ? "every node" : r)).join(", ");
}

export function ruleText(rule: AccessRule): string {
  return `${endText(rule.from)} -> ${endText(rule.to)}: ${rule.services.map(formatService).join(", ")}`;
}

export function testText(test: AccessTest): string {
  const parts = [...(test.accept.length > 0 ? [`accept ${test.accept.map(formatService).join(", ")}`] : []), ...(test.deny.length > 0 ? [`deny ${test.deny.map(formatService).join(", ")}`] : [])];
  return `${endText(test.from)} -> ${endText(test.to)}: ${parts.join("; ")}`;
}

/** A matrix cell: the distinct allowed sets (by id) of its pairs, and how many pairs. */
interface Cell {
  ids: Set<number>;
  pairs: number;
}

function cellText(c: Cell | undefined, sets: readonly ServiceSet[]): string {
  if (!c || c.pairs === 0) return "";
  const all = [...c.ids].map((id) => sets[id] as ServiceSet);
  const unionSet = all.reduce((acc, x) => union(acc, x));
  const inter = all.reduce((acc, x) => intersect(acc, x));
  const parts = setParts(unionSet).map((p) => (covers(inter, p.set) ? p.text : `${p.text}*`));
  return parts.length === 0 ? "-" : parts.join(" ");
}

/** The rulesets' sizes as files. */
export function rulesetSizes(compiled: CompiledAccess): { node: string; bytes: number }[] {
  return [...compiled.rulesets.values()].map((r) => ({ node: r.node, bytes: Buffer.byteLength(renderRuleset(r, rulesetHeader(r.node, compiled.spec.rules.length))) }));
}

export class AccessEvaluator {
  readonly filter: FilterModel;
  private readonly axis: { kind: "groups" | "nodes"; names: string[]; members: Set<string>[] } | undefined;
  /** Per node, the axis entries it belongs to. */
  private readonly axisOf = new Map<string, number[]>();
  private readonly cells = new Map<number, Cell>();
  /** Per source, its first destinations no rule allows, and how many there are. */
  private readonly noRule = new Map<string, { to: string[]; count: number }>();
  private noRulePairs = 0;
  private readonly ruleCount: number[];
  /** Per pair of policy classes, the indices of the rules that apply. */
  private readonly classRules = new Map<number, number[]>();
  private readonly tests: { test: AccessTest; from: Set<string>; to: Set<string>; accept: ServiceSet[]; deny: ServiceSet[]; result: TestResult; failing: Map<number, boolean> }[];
  private pairs = 0;
  private readonly flows: PairFlows[] | undefined;

  /** `withFlows`: keep every pair's verdict per rule (memory grows with the square of the mesh). */
  constructor(
    plan: MeshPlan,
    readonly compiled: CompiledAccess,
    withFlows = false,
  ) {
    this.flows = withFlows ? [] : undefined;
    this.filter = new FilterModel(compiled.rulesets, new Map(plan.nodes.map((n) => [n.name, n.address])));
    const { book } = compiled.policy;
    if (compiled.spec.groups.length > 0) {
      const names = compiled.spec.groups.map((g) => g.name);
      this.axis = { kind: "groups", names, members: names.map((g) => book.group(g)) };
    } else if (plan.nodes.length <= MATRIX_NODES_MAX) {
      const names = plan.nodes.map((n) => n.name);
      this.axis = { kind: "nodes", names, members: names.map((n) => new Set([n])) };
    }
    if (this.axis) for (const n of plan.nodes) this.axisOf.set(n.name, this.axis.members.flatMap((m, i) => (m.has(n.name) ? [i] : [])));
    this.ruleCount = compiled.spec.rules.map(() => 0);
    this.tests = compiled.spec.tests.map((test) => ({
      test,
      from: book.ends(test.from),
      to: book.ends(test.to),
      accept: test.accept.map((s) => setOf([s])),
      deny: test.deny.map((s) => setOf([s])),
      result: { index: test.index, text: testText(test), pairs: 0, failures: 0, examples: [] },
      failing: new Map(),
    }));
  }

  private rulesOf(from: string, to: string): number[] {
    const { policy } = this.compiled;
    const a = policy.classOf.get(from);
    const b = policy.classOf.get(to);
    if (a === undefined || b === undefined) return policy.rulesFor(from, to).map((r) => r.rule.index);
    const key = a * policy.classes.length + b;
    let list = this.classRules.get(key);
    if (!list) {
      list = policy.rulesFor(from, to).map((r) => r.rule.index);
      this.classRules.set(key, list);
    }
    return list;
  }

  /** One ordered pair, as the WireGuard simulator carried it. */
  onPair = (pair: PathOfPair): void => {
    this.pairs++;
    const id = this.filter.allowedId(pair);
    const rules = this.rulesOf(pair.from, pair.to);
    if (this.flows) {
      this.flows.push({
        from: pair.from,
        to: pair.to,
        allowed: formatSet(this.filter.table.sets[id] as ServiceSet),
        rules: this.compiled.spec.rules.map((r) => ({
          rule: ruleNumber(r),
          applies: rules.includes(r.index),
          services: r.services.map((item) => ({ service: formatService(item), verdict: verdictText(this.filter.verdict(pair, probeIn(setOf([item])) ?? { proto: "icmp" })) })),
        })),
      });
    }
    for (const r of rules) this.ruleCount[r] = (this.ruleCount[r] ?? 0) + 1;
    if (rules.length === 0) {
      this.noRulePairs++;
      const entry = this.noRule.get(pair.from) ?? { to: [], count: 0 };
      if (entry.to.length < NO_RULE_TARGETS) entry.to.push(pair.to);
      entry.count++;
      this.noRule.set(pair.from, entry);
    }
    if (this.axis) {
      const width = this.axis.names.length;
      for (const r of this.axisOf.get(pair.from) ?? []) {
        for (const c of this.axisOf.get(pair.to) ?? []) {
          const key = r * width + c;
          const cell = this.cells.get(key);
          if (cell) {
            cell.ids.add(id);
            cell.pairs++;
          } else this.cells.set(key, { ids: new Set([id]), pairs: 1 });
        }
      }
    }
    for (const t of this.tests) {
      if (!t.from.has(pair.from) || !t.to.has(pair.to)) continue;
      t.result.pairs++;
      let fails = t.failing.get(id);
      if (fails === undefined) {
        const allowed = this.filter.table.sets[id] as ServiceSet;
        fails = t.accept.some((x) => !isEmpty(subtract(x, allowed))) || t.deny.some((x) => !isEmpty(intersect(x, allowed)));
        t.failing.set(id, fails);
      }
      if (!fails) continue;
      const allowed = this.filter.table.sets[id] as ServiceSet;
      t.test.accept.forEach((item, i) => {
        const missing = subtract(t.accept[i] as ServiceSet, allowed);
        if (isEmpty(missing)) return;
        this.fail(t.result, pair, formatService(item), "allowed", () => verdictText(this.filter.verdict(pair, probeIn(missing) ?? { proto: "icmp" })));
      });
      t.test.deny.forEach((item, i) => {
        const passing = intersect(t.deny[i] as ServiceSet, allowed);
        if (isEmpty(passing)) return;
        this.fail(t.result, pair, formatService(item), "denied", () => verdictText(this.filter.verdict(pair, probeIn(passing) ?? { proto: "icmp" })));
      });
    }
  };

  private fail(result: TestResult, pair: PathOfPair, service: string, expected: TestFailure["expected"], found: () => string): void {
    result.failures++;
    if (result.examples.length < TEST_EXAMPLES) result.examples.push({ from: pair.from, to: pair.to, service, expected, found: found() });
  }

  report(): AccessReport {
    const { spec, policy } = this.compiled;
    const sizes = rulesetSizes(this.compiled);
    const largest = [...sizes].sort((a, b) => b.bytes - a.bytes || (a.node < b.node ? -1 : 1))[0];
    const sources = [...this.noRule.entries()].map(([from, e]) => ({ from, to: e.to, more: e.count - e.to.length }));
    const tests = this.tests.map((t) => t.result);
    const sets = this.filter.table.sets;
    const width = this.axis?.names.length ?? 0;
    return {
      echo: spec.echo,
      groups: spec.groups.map((g) => ({ name: g.name, members: [...policy.book.group(g.name)] })),
      rules: spec.rules.map((r) => ({ number: ruleNumber(r), text: ruleText(r), pairs: this.ruleCount[r.index] ?? 0 })),
      ...(this.axis ? { matrix: { axis: this.axis.kind, names: this.axis.names, cells: this.axis.names.map((_, r) => this.axis?.names.map((__, c) => cellText(this.cells.get(r * width + c), sets)) ?? []) } } : {}),
      noRule: { pairs: this.noRulePairs, bySource: sources.slice(0, NO_RULE_SOURCES), sourcesOmitted: Math.max(0, sources.length - NO_RULE_SOURCES) },
      tests,
      failedTests: tests.filter((t) => t.failures > 0).length,
      rulesets: { nodes: this.compiled.rulesets.size, forwarding: [...this.compiled.rulesets.values()].filter((r) => r.forward).length, ...(largest ? { largest } : {}) },
      pairs: this.pairs,
      ...(this.flows ? { flows: this.flows } : {}),
    };
  }
}

/** The access report of a plan, with its own pass of the WireGuard simulator; undefined for a flat mesh. */
export function accessReportOf(plan: MeshPlan, options: { flows?: boolean } = {}): AccessReport | undefined {
  const compiled = compileAccess(plan);
  if (!compiled) return undefined;
  const evaluator = new AccessEvaluator(plan, compiled, options.flows ?? false);
  simulatePlanSummary(plan, { maxFailures: 0, onPair: evaluator.onPair });
  return evaluator.report();
}

/** One line per failing flow of the plan's access tests (examples, then a count); empty when they hold or there is no policy. */
export function accessTestRefusals(plan: MeshPlan): string[] {
  const report = accessReportOf(plan);
  const out: string[] = [];
  for (const t of report?.tests ?? []) {
    if (t.failures === 0) continue;
    for (const f of t.examples) out.push(`access.tests[${t.index}]: ${f.from} -> ${f.to} ${f.service}: expected ${f.expected}, ${f.found}`);
    if (t.failures > t.examples.length) out.push(`access.tests[${t.index}]: and ${t.failures - t.examples.length} more flows`);
  }
  return out;
}
