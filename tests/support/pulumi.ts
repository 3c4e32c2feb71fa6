/**
 * Running the stack program under Pulumi's mocks in tests, and reading what it made. Each test
 * file runs in its own process (node --test), and runs inside a file go one after another.
 */
import { documentOfAwsUserData } from "../../infra/render/user-data";
import { parsePayload } from "../../infra/render/payload";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { unwrapSecrets, type AzureVaultNames } from "../../stacks/synth/mock-cloud";
import { freshRequire, runUnderMocks, type MockRun, type RecordedResource } from "../../stacks/synth/run";
import { stackConfig } from "../../workspace/project";
import type { Cloud, MeshSpec, NodeSpec, Role } from "../../infra/model";
import { Mesh, type MeshArgs } from "../../components";
import { expandCloudInit } from "../../infra/render/cloudinit";
import type { AgentBundle } from "../../infra/render/agent";

export const PROJECT = "wg-mesh";
export const REPO = join(__dirname, "..", "..");

/** The name the stack program gives its Mesh; every resource's name starts with it. */
export const MESH = "mesh";

/** A resource name of node `node`'s tree, as the Mesh names it: `mesh-<node>` plus a suffix. */
export function named(node: string, suffix = ""): string {
  return `${MESH}-${node}${suffix}`;
}

/** The node a resource belongs to, from its name (`mesh-hkg-wg0` -> `hkg`). */
export function nodeOf(resourceName: string, suffix: RegExp): string {
  return resourceName.replace(suffix, "").replace(new RegExp(`^${MESH}-`), "");
}

/** A validated spec back in the shape people declare it, for the Mesh component's args. */
export function meshArgs(spec: MeshSpec): MeshArgs {
  return {
    overlay: spec.overlay,
    topology: spec.topology,
    hub: spec.hub,
    listenPort: spec.listenPort,
    persistentKeepalive: spec.persistentKeepalive,
    ...(spec.mtu === "auto" ? {} : { mtu: spec.mtu }),
    keyEpoch: spec.keyEpoch,
    ...(spec.rotationMargin !== undefined ? { rotationMargin: spec.rotationMargin } : {}),
    presharedKeys: spec.presharedKeys,
    adminCidrs: spec.adminCidrs,
    ...(spec.widestAdminCidr !== undefined ? { widestAdminCidr: spec.widestAdminCidr } : {}),
    ...(spec.transitRoles !== undefined ? { transitRoles: spec.transitRoles } : {}),
    peerStacks: spec.peerStacks,
    ...(spec.maxStretch !== undefined ? { maxStretch: spec.maxStretch } : {}),
    ...(spec.maxPeers !== undefined ? { maxPeers: spec.maxPeers } : {}),
    ...(spec.resilience !== undefined ? { resilience: spec.resilience } : {}),
    ...(spec.failoverMaxStretch !== undefined ? { failoverMaxStretch: spec.failoverMaxStretch } : {}),
    regions: Object.fromEntries(spec.regions.map((r) => [r.name, { subnet: r.subnet, area: r.area }])),
    nodes: Object.fromEntries(
      spec.nodes.map((n) => [
        n.name,
        {
          role: n.role,
          region: n.region,
          site: n.site,
          address: n.address,
          cloud: n.cloud,
          ...(n.aws ? { aws: n.aws } : {}),
          ...(n.gcp ? { gcp: n.gcp } : {}),
          ...(n.azure ? { azure: n.azure } : {}),
          ...(n.cloud === "external" ? { external: n.external?.endpoint ? { endpoint: n.external.endpoint } : {} } : {}),
          ...(n.underlayMtu !== undefined ? { underlayMtu: n.underlayMtu } : {}),
          ...(n.transit !== undefined ? { transit: n.transit } : {}),
          links: n.links.map((l) => ({ peer: l.peer, ...(l.weight !== undefined ? { weight: l.weight } : {}) })),
        },
      ]),
    ),
  };
}

export interface RunMeshOptions {
  stack?: string;
  project?: string;
  /** The Mesh component's name; default "mesh", as the stack program names it. */
  meshName?: string;
  stackOutputs?: Record<string, Record<string, unknown>>;
  unknownStacks?: "fail" | "empty";
  noDefaultVpc?: readonly string[];
  seed?: string;
  azureVaults?: AzureVaultNames;
  /** The node agent to deploy in place of this release's (runUnderMocks's agent). */
  agent?: AgentBundle;
}

/** The Mesh component on a spec built in code, named and exported as the stack program does. */
export function runMesh(spec: MeshSpec, opts: RunMeshOptions = {}): Promise<MockRun> {
  const stack = opts.stack ?? "test";
  return runUnderMocks({
    project: opts.project ?? PROJECT,
    stack,
    program: () => {
      const mesh = new Mesh(opts.meshName ?? MESH, meshArgs(spec));
      return { nodes: mesh.nodes, summary: mesh.summary, mesh: mesh.meshExport, externalConfigs: mesh.externalConfigs, keyRotation: mesh.keyRotation };
    },
    ...(opts.stackOutputs ? { stackOutputs: opts.stackOutputs } : {}),
    ...(opts.unknownStacks ? { unknownStacks: opts.unknownStacks } : {}),
    ...(opts.noDefaultVpc ? { noDefaultVpc: opts.noDefaultVpc } : {}),
    ...(opts.seed ? { seed: opts.seed } : {}),
    ...(opts.azureVaults ? { azureVaults: opts.azureVaults } : {}),
    ...(opts.agent ? { agent: opts.agent } : {}),
  });
}

/** The real program (stacks/index.ts) with the config of Pulumi.<stack>.yaml at the repo root. */
export function runStackFile(stack: string): Promise<MockRun> {
  const { config, secretKeys } = stackConfig(join(REPO, `Pulumi.${stack}.yaml`));
  return runUnderMocks({ project: PROJECT, stack, config, secretKeys, program: () => freshRequire(join(REPO, "stacks", "index.ts")) });
}

export function isSecretValue(value: unknown): boolean {
  return value !== null && typeof value === "object" && (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
}

export function ofType(run: MockRun, type: string): RecordedResource[] {
  return run.resources.filter((r) => r.type === type);
}

/** The one resource of `type` named `name` after the mesh (`one(run, t, "hkg-wg0")` finds `mesh-hkg-wg0`). */
export function one(run: MockRun, type: string, name: string): RecordedResource {
  const found = run.resources.filter((r) => r.type === type && r.name === `${MESH}-${name}`);
  assert.equal(found.length, 1, `expected one ${type} named ${name}, found ${found.length}`);
  return found[0] as RecordedResource;
}

/** An input with secret wrappers removed. */
export function input<T = unknown>(r: RecordedResource, key: string): T {
  return unwrapSecrets(r.inputs[key]) as T;
}

export function parentOf(run: MockRun, r: RecordedResource): RecordedResource | undefined {
  return run.resources.find((p) => p.urn === r.parent);
}

/** Every resource below a node's component. */
export function resourcesOf(run: MockRun, node: string): RecordedResource[] {
  const root = run.resources.find((r) => r.name === named(node) && /^wg-mesh:index:(Hub|Pop|Backend)$/.test(r.type));
  assert.ok(root, `no component for ${node}`);
  const out: RecordedResource[] = [];
  const walk = (urn: string): void => {
    for (const r of run.resources.filter((c) => c.parent === urn)) {
      out.push(r);
      walk(r.urn);
    }
  };
  walk(root.urn);
  return out;
}

/** Where each cloud keeps a node's wg0.conf: the secret version's type and input. */
export const VAULT_VALUE: Record<Exclude<Cloud, "external">, { type: string; key: string }> = {
  aws: { type: "aws:secretsmanager/secretVersion:SecretVersion", key: "secretString" },
  gcp: { type: "gcp:secretmanager/secretVersion:SecretVersion", key: "secretData" },
  azure: { type: "azure:keyvault/secret:Secret", key: "value" },
};

/** Every node's wg0.conf as delivered: from its vault entry (as the agent installs it), or the external configs output. */
export function deliveredConfigs(run: MockRun): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { type, key } of Object.values(VAULT_VALUE)) {
    for (const r of ofType(run, type)) {
      assert.ok(isSecretValue(r.inputs[key]), `${r.type} ${r.name}: ${key} must be secret`);
      if (!r.name.endsWith("-wg0")) continue;
      const node = nodeOf(r.name, /-wg0$/);
      const entry = parsePayload(input<string>(r, key));
      assert.equal(entry.node, node, `${r.name}: the entry names its node`);
      out[node] = entry.config;
    }
  }
  const external = run.outputs.externalConfigs;
  assert.ok(isSecretValue(external), "externalConfigs must be a secret output");
  Object.assign(out, unwrapSecrets(external) as Record<string, string>);
  return out;
}

/** The user data each VM boots with, decoded, by node. */
export function userDataByNode(run: MockRun): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of ofType(run, "aws:ec2/instance:Instance")) {
    const plain = (unwrapSecrets(r.inputs) as Record<string, unknown>).userData;
    out[nodeOf(r.name, /-vm$/)] = typeof plain === "string" ? plain : documentOfAwsUserData(input<string>(r, "userDataBase64"));
  }
  for (const r of ofType(run, "gcp:compute/instance:Instance")) out[nodeOf(r.name, /-vm$/)] = input<Record<string, string>>(r, "metadata")["user-data"] as string;
  for (const r of ofType(run, "azure:compute/linuxVirtualMachine:LinuxVirtualMachine")) {
    out[nodeOf(r.name, /-vm$/)] = Buffer.from(input<string>(r, "customData"), "base64").toString("utf8");
  }
  return out;
}

export interface Leak {
  where: string;
  needle: string;
}

/**
 * Each place outside a secret wrapper where one of `needles` occurs. Long base64 strings are
 * decoded and searched too (Azure custom data is base64), and cloud-init documents with their
 * files decoded (the sync script travels compressed).
 */
export function findLeaks(value: unknown, needles: readonly string[], where: string): Leak[] {
  if (isSecretValue(value)) return [];
  if (typeof value === "string") {
    const texts = [value];
    if (value.length >= 64 && /^[A-Za-z0-9+/]+=*$/.test(value)) texts.push(Buffer.from(value, "base64").toString("utf8"));
    for (const t of [...texts]) if (t.startsWith("#cloud-config")) texts.push(expandCloudInit(t));
    return needles.filter((n) => texts.some((t) => t.includes(n))).map((needle) => ({ where, needle }));
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => findLeaks(v, needles, `${where}[${i}]`));
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => findLeaks(v, needles, `${where}.${k}`));
  return [];
}

/** Where secret wrappers occur, as "type name key" of resource inputs. */
export function secretInputs(run: MockRun): string[] {
  return run.resources.flatMap((r) => Object.entries(r.inputs).filter(([, v]) => containsSecret(v)).map(([k]) => `${r.type} ${r.name} ${k}`));
}

function containsSecret(value: unknown): boolean {
  if (isSecretValue(value)) return true;
  if (Array.isArray(value)) return value.some(containsSecret);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsSecret);
  return false;
}

const node = (name: string, role: Role, region: string, address: string, cloud: Cloud, extra: Partial<NodeSpec> = {}): NodeSpec => ({
  name,
  role,
  region,
  // Every node in one metro: the plan is the topology's, and the site is one the config accepts.
  site: "dub",
  address,
  cloud,
  links: [],
  ...(cloud === "aws" ? { aws: { region: "eu-west-1" } } : {}),
  ...(cloud === "gcp" ? { gcp: { project: "wgmesh-test", region: "europe-west1", zone: "europe-west1-b" } } : {}),
  ...(cloud === "azure" ? { azure: { location: "westeurope" } } : {}),
  ...extra,
});

/**
 * A hub, a POP and a backend on one cloud, plus a laptop behind NAT that links to the hub only:
 * the hub's WireGuard port must be open to the world, the POP's and backend's only to their peers.
 */
export function oneCloudSpec(cloud: Exclude<Cloud, "external">, overrides: Partial<MeshSpec> = {}): MeshSpec {
  return {
    overlay: "10.60.0.0/16",
    listenPort: 51820,
    persistentKeepalive: 25,
    mtu: "auto",
    topology: "regional",
    hub: "hub1",
    keyEpoch: 1,
    presharedKeys: false,
    adminCidrs: ["203.0.113.0/24"],
    peerStacks: [],
    regions: [
      { name: "core", subnet: "10.60.0.0/24", area: "europe" },
      { name: "edge", subnet: "10.60.1.0/24", area: "apac" },
      { name: "apps", subnet: "10.60.2.0/24", area: "apac" },
      { name: "home", subnet: "10.60.9.0/24", area: "europe" },
    ],
    nodes: [
      node("hub1", "hub", "core", "10.60.0.1", cloud),
      node("pop1", "pop", "edge", "10.60.1.1", cloud),
      node("app1", "backend", "apps", "10.60.2.1", cloud),
      node("laptop", "backend", "home", "10.60.9.1", "external"),
    ],
    ...overrides,
  };
}

/** A node's planned peers' public IPs, from the run's own EIPs, addresses and public IPs. */
export function publicIps(run: MockRun): Record<string, string> {
  const nodes = run.outputs.nodes as Record<string, { publicIp: string | null }>;
  return Object.fromEntries(Object.entries(nodes).flatMap(([n, r]) => (r.publicIp ? [[n, r.publicIp]] : [])));
}

/** Whether an input holds a value the preview cannot know, at any depth (inside a secret's wrapper too). */
export function containsUnknown(value: unknown): boolean {
  if (pulumi.isUnknown(value)) return true;
  if (Array.isArray(value)) return value.some(containsUnknown);
  if (value !== null && typeof value === "object") return Object.values(value).some(containsUnknown);
  return false;
}
