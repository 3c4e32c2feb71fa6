/**
 * Runs a Pulumi program under Pulumi's mock runtime and records what it registered: every
 * resource with its type, name, parent, provider and inputs (secrets still marked as such),
 * component outputs, and the stack's outputs. `wgmesh synth` prints this; the tests read it.
 *
 * Pulumi's runtime state is global to the process: runs must not overlap, and a program
 * module has to be loaded afresh for each run (see `freshRequire`).
 */
import * as pulumi from "@pulumi/pulumi";
import { MockCloud, type MockCloudOptions } from "./mock-cloud";
import { aliasUrns, createUrn, type AliasSpec } from "./urns";
import { useDeployedAgent, type AgentBundle } from "../../infra/render/agent";

export interface RecordedResource {
  /** Place in the order the program constructed resources. */
  order: number;
  /** As the Pulumi engine makes it (the mock monitor's own URNs keep the stack as a parent type). */
  urn: string;
  /** URNs of old state this resource would take over (its aliases and those its parents' give it). */
  aliases: string[];
  /** The ID the (mock) provider gave a custom resource. */
  id?: string;
  type: string;
  name: string;
  /** The parent's URN; undefined for the stack itself. */
  parent?: string;
  custom: boolean;
  /** Name of the explicit provider resource it uses, if any. */
  provider?: string;
  /** URNs of the resources it waits for: its dependsOn and the resources its inputs come from. */
  dependencies: string[];
  /** Whether a replacement deletes it before making the new one (names that must be freed first). */
  deleteBeforeReplace: boolean;
  /** Inputs whose changes the engine leaves alone on an existing resource. */
  ignoreChanges?: string[];
  /** As the program sent them; secret values keep Pulumi's secret wrapper. */
  inputs: Record<string, unknown>;
  /** What a component (or the stack) registered as its outputs, secrets wrapped likewise. */
  outputs?: Record<string, unknown>;
}

interface Recording extends Omit<RecordedResource, "aliases"> {
  aliasSpecs: AliasSpec[];
}

export interface MockRunOptions extends Omit<MockCloudOptions, "stack"> {
  project: string;
  stack: string;
  /** Pulumi config as the CLI passes it: "ns:key" -> string (objects as JSON). */
  config?: Record<string, string>;
  secretKeys?: string[];
  /** Creates the resources; what it returns (or a module's exports) becomes the stack outputs. */
  program: () => unknown;
  /**
   * The program makes the stack itself, as Pulumi's own launcher (@pulumi/pulumi/cmd/run) does when it
   * is the program: the run does not wrap it in one. Resources are then ordered as they were registered.
   */
  ownStack?: boolean;
  preview?: boolean;
  /** A program that never settles (an output nothing resolves) fails after this long. */
  timeoutMs?: number;
  /** The node agent the run deploys (deployedAgent()) in place of this release's, as the lab takes one: a larger one, say. */
  agent?: AgentBundle;
}

export interface MockRun {
  resources: RecordedResource[];
  /** The stack's outputs, secrets wrapped. */
  outputs: Record<string, unknown>;
  /** pulumi.log.warn messages. */
  warnings: string[];
  cloud: MockCloud;
}

interface AliasProto {
  hasUrn(): boolean;
  getUrn(): string;
  hasSpec(): boolean;
  getSpec(): { getName(): string; getType(): string; getStack(): string; getProject(): string; getParenturn(): string; getNoparent(): boolean } | undefined;
}

interface MonitorRequest {
  getAliasesList?(): AliasProto[];
  getDependenciesList?(): string[];
  getDeletebeforereplace?(): boolean;
  getIgnorechangesList?(): string[];
  getType(): string;
  getName(): string;
  getParent(): string;
  getProvider(): string;
  getCustom?(): boolean;
  getObject?(): unknown;
  getProperties?(): unknown;
  getUrn(): string;
  getId?(): string;
  getOutputs(): unknown;
}
type Callback = (err: unknown, response: { getUrn(): string; getId?(): string } | undefined) => void;
interface MockMonitorLike {
  registerResource(req: MonitorRequest, callback: Callback): Promise<void>;
  readResource(req: MonitorRequest, callback: Callback): Promise<void>;
  registerResourceOutputs(req: MonitorRequest, callback: (err: unknown, response: unknown) => void): void;
}

const deserialize = (struct: unknown): Record<string, unknown> =>
  struct ? (pulumi.runtime.deserializeProperties as (s: unknown, keepUnknowns?: boolean) => Record<string, unknown>)(struct, true) : {};

function providerName(ref: string): string | undefined {
  // "<urn>::<id>"; the urn's last segment is the provider's name. Default providers are left out.
  const name = ref.split("::")[3];
  return name && !name.startsWith("default") ? name : undefined;
}

/** Loads a module as if for the first time, so its top level (the program) runs again. */
export function freshRequire(path: string): unknown {
  const resolved = require.resolve(path);
  delete require.cache[resolved];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(resolved);
}

let running = false;

export async function runUnderMocks(opts: MockRunOptions): Promise<MockRun> {
  if (running) throw new Error("runUnderMocks: one run at a time (Pulumi's runtime is global to the process)");
  running = true;
  const { project: _project, config: _config, secretKeys: _secretKeys, program: _program, ownStack: _ownStack, preview: _preview, timeoutMs: _timeout, agent: _agent, ...cloudOptions } = opts;
  const cloud = new MockCloud({ ...cloudOptions, preview: opts.preview ?? false });
  // The program may change it for its run (components/shallow-traces.ts); the process keeps its own.
  const stackTraceLimit = Error.stackTraceLimit;
  const resources = new Map<string, Recording>();
  const constructed = new Map<string, number>();
  const warnings: string[] = [];
  const rejections: unknown[] = [];
  const warn = console.warn;
  let firstRejection: (() => void) | undefined;
  const rejected = new Promise<void>((resolve) => (firstRejection = resolve));
  const onRejection = (err: unknown): void => {
    rejections.push(err);
    firstRejection?.();
  };
  // A failing program rejects outputs no one awaits inside Pulumi's SDK. They belong to this run,
  // not to whoever else listens (node:test fails the running test on them), so they come here.
  const others = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", onRejection);
  try {
    useDeployedAgent(opts.agent);
    await pulumi.runtime.setMocks(cloud, opts.project, opts.stack, opts.preview ?? false);
    pulumi.runtime.setAllConfig(opts.config ?? {}, opts.secretKeys ?? []);
    record(pulumi.runtime.getMonitor() as unknown as MockMonitorLike, resources, constructed);
    console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(" ").replace(/^warning: \[runtime\] /, ""));

    const timeout = opts.timeoutMs ?? 60_000;
    let failure: unknown;
    try {
      const program = async (): Promise<unknown> => {
        // Transformations run as each resource is constructed: the order the program wrote them in.
        pulumi.runtime.registerStackTransformation((args) => {
          constructed.set(orderKey(args.type, args.name), constructed.size + 1);
          return undefined;
        });
        return opts.program();
      };
      // A failed program can leave outputs that never settle (a resource waiting on one whose inputs
      // failed); Pulumi then just exits. Here the first rejection, given a moment, ends the wait.
      const failed = rejected.then(() => sleep(200));
      const ran = opts.ownStack ? Promise.resolve().then(opts.program) : pulumi.runtime.runInPulumiStack(program);
      await withTimeout(Promise.race([ran, failed]), timeout, "the program");
    } catch (err) {
      failure = err;
    }
    const settled = (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    if (failure === undefined && rejections.length === 0) await withTimeout(settled, timeout, "resource registrations");
    else {
      await Promise.race([settled, sleep(1000)]);
      await sleep(50);
    }
    const error = failure ?? rejections[0];
    if (error !== undefined) {
      forgetStuckPromises();
      throw error;
    }

    const all = withEngineUrns([...resources.values()].sort((a, b) => a.order - b.order), opts.project, opts.stack);
    const stack = all.find((r) => r.type === "pulumi:pulumi:Stack");
    return { resources: all, outputs: stack?.outputs ?? {}, warnings, cloud };
  } finally {
    useDeployedAgent(undefined);
    Error.stackTraceLimit = stackTraceLimit;
    console.warn = warn;
    process.off("unhandledRejection", onRejection);
    for (const listener of others) process.on("unhandledRejection", listener);
    running = false;
  }
}

const orderKey = (type: string, name: string): string => `${type}\u0000${name}`;

function aliasSpecsOf(req: MonitorRequest): AliasSpec[] {
  return (req.getAliasesList?.() ?? []).flatMap((a): AliasSpec[] => {
    if (a.hasUrn()) return [{ urn: a.getUrn() }];
    const spec = a.hasSpec() ? a.getSpec() : undefined;
    if (!spec) return [];
    return [
      {
        ...(spec.getName() ? { name: spec.getName() } : {}),
        ...(spec.getType() ? { type: spec.getType() } : {}),
        ...(spec.getStack() ? { stack: spec.getStack() } : {}),
        ...(spec.getProject() ? { project: spec.getProject() } : {}),
        ...(spec.getParenturn() ? { parentUrn: spec.getParenturn() } : {}),
        ...(spec.getNoparent() ? { noParent: true } : {}),
      },
    ];
  });
}

/**
 * Every URN in the engine's form (the mock monitor names a child by its parent's own type only, the
 * engine by the parent's whole chain), and each resource's alias URNs computed as the engine would.
 */
function withEngineUrns(recorded: readonly Recording[], project: string, stack: string): RecordedResource[] {
  const byMockUrn = new Map(recorded.map((r) => [r.urn, r]));
  const engine = new Map<string, string>();
  const resolve = (mockUrn: string): string => {
    const known = engine.get(mockUrn);
    if (known !== undefined) return known;
    const r = byMockUrn.get(mockUrn);
    const urn = r ? createUrn(r.name, r.type, r.parent ? resolve(r.parent) : undefined, project, stack) : mockUrn;
    engine.set(mockUrn, urn);
    return urn;
  };
  const fixed = recorded.map((r) => ({
    ...r,
    urn: r.type === "pulumi:pulumi:Stack" ? r.urn : resolve(r.urn),
    ...(r.parent ? { parent: resolve(r.parent) } : {}),
    dependencies: r.dependencies.map(resolve),
    aliasSpecs: r.aliasSpecs.map((a) => (a.parentUrn ? { ...a, parentUrn: resolve(a.parentUrn) } : a)),
  }));
  const aliases = aliasUrns(fixed, project, stack);
  return fixed.map(({ aliasSpecs: _specs, ...r }) => ({ ...r, aliases: aliases.get(r.urn) ?? [] }));
}

function record(monitor: MockMonitorLike, resources: Map<string, Recording>, constructed: ReadonlyMap<string, number>): void {
  let requests = 0;
  const wrap = (method: "registerResource" | "readResource"): void => {
    const original = monitor[method].bind(monitor);
    monitor[method] = (req, callback) => {
      // The stack itself is made before any transformation exists; it and strays keep request order, after the rest.
      const order = constructed.get(orderKey(req.getType(), req.getName())) ?? (req.getType() === "pulumi:pulumi:Stack" ? 0 : 1e6 + ++requests);
      return original(req, (err, response) => {
        if (!err && response) {
          const urn = response.getUrn();
          const provider = providerName(req.getProvider());
          const id = method === "readResource" ? req.getId?.() : response.getId?.();
          resources.set(urn, {
            order,
            urn,
            ...(id ? { id } : {}),
            type: req.getType(),
            name: req.getName(),
            ...(req.getParent() ? { parent: req.getParent() } : {}),
            custom: method === "readResource" || Boolean(req.getCustom?.()),
            ...(provider ? { provider } : {}),
            dependencies: req.getDependenciesList?.() ?? [],
            deleteBeforeReplace: req.getDeletebeforereplace?.() ?? false,
            ...(req.getIgnorechangesList?.()?.length ? { ignoreChanges: req.getIgnorechangesList?.() } : {}),
            inputs: deserialize(method === "readResource" ? req.getProperties?.() : req.getObject?.()),
            aliasSpecs: aliasSpecsOf(req),
          });
        }
        callback(err, response);
      });
    };
  };
  wrap("registerResource");
  wrap("readResource");
  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req, callback) => {
    const r = resources.get(req.getUrn());
    if (r) r.outputs = deserialize(req.getOutputs());
    registerOutputs(req, callback);
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A failed run leaves promises that never settle. Pulumi's exit-time leak check would fail the
 * process for them; the real runtime skips that check once an error was logged, which under
 * mocks never happens. They are expected here, so the check forgets them.
 */
function forgetStuckPromises(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { leakedPromises?: () => unknown };
  debuggable.leakedPromises?.();
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000}s under the mock runtime`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
