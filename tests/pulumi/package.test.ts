/**
 * The component package, in process: its schema (what `pulumi package add` turns into a C#, Python,
 * Go or YAML SDK) and `construct` (what the engine calls when such a program makes a Mesh) under
 * Pulumi's mock runtime, held to the TypeScript program's resources.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { readFileSync } from "node:fs";
import type { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import { meshComponentProvider } from "../../components/provider";
import { generateKeyPair } from "../../infra/keys";
import { parseWgQuick } from "../../infra/wgquick";
import { parsePayload } from "../../infra/render/payload";
import { unwrapSecrets } from "../../stacks/synth/mock-cloud";
import { runUnderMocks, type MockRun, type RecordedResource } from "../../stacks/synth/run";
import { input, isSecretValue, ofType, PROJECT, REPO, runStackFile } from "../support/pulumi";

interface Property {
  type?: string;
  $ref?: string;
  description?: string;
  items?: Property;
  additionalProperties?: Property;
}
interface TypeSpec {
  type: string;
  properties?: Record<string, Property>;
  enum?: { name: string; value: string; description?: string }[];
  description?: string;
  required?: string[];
}
interface ResourceSpec {
  isComponent: boolean;
  description?: string;
  inputProperties: Record<string, Property>;
  requiredInputs?: string[];
  properties: Record<string, Property>;
}
interface Schema {
  name: string;
  resources: Record<string, ResourceSpec>;
  types: Record<string, TypeSpec>;
}

let provider: ComponentProvider;
let schema: Schema;

before(async () => {
  provider = meshComponentProvider();
  // The analyzer reads the TypeScript sources once; construct reuses what it found.
  schema = JSON.parse(await provider.getSchema()) as Schema;
});

/** Every $ref a property uses, depth first. */
function refsOf(p: Property): string[] {
  return [...(p.$ref ? [p.$ref] : []), ...(p.items ? refsOf(p.items) : []), ...(p.additionalProperties ? refsOf(p.additionalProperties) : [])];
}

test("the schema names Mesh, Hub, Pop and Backend, each with typed, documented inputs and outputs", () => {
  assert.equal(schema.name, "wg-mesh");
  assert.deepEqual(Object.keys(schema.resources).sort(), ["wg-mesh:index:Backend", "wg-mesh:index:Hub", "wg-mesh:index:Mesh", "wg-mesh:index:Pop"]);
  const undocumented: string[] = [];
  const dangling: string[] = [];
  const check = (where: string, props: Record<string, Property>): void => {
    for (const [name, p] of Object.entries(props)) {
      if (!p.description?.trim()) undocumented.push(`${where}.${name}`);
      if (!p.type && !p.$ref) undocumented.push(`${where}.${name} has no type`);
      for (const ref of refsOf(p)) if (!schema.types[ref.replace("#/types/", "")]) dangling.push(`${where}.${name} -> ${ref}`);
    }
  };
  for (const [token, r] of Object.entries(schema.resources)) {
    assert.equal(r.isComponent, true, token);
    assert.ok(r.description?.trim(), `${token} is documented`);
    assert.ok(Object.keys(r.inputProperties).length > 0 && Object.keys(r.properties).length > 0, token);
    check(`${token} input`, r.inputProperties);
    check(`${token} output`, r.properties);
  }
  for (const [token, t] of Object.entries(schema.types)) if (t.properties) check(token, t.properties);
  assert.deepEqual(undocumented, []);
  assert.deepEqual(dangling, []);
  const mesh = schema.resources["wg-mesh:index:Mesh"] as ResourceSpec;
  assert.deepEqual([...(mesh.requiredInputs ?? [])].sort(), ["hub", "nodes", "overlay", "regions", "topology"]);
  assert.deepEqual(Object.keys(mesh.properties).sort(), ["externalConfigs", "keyRotation", "meshExport", "nodes", "summary"]);
});

test("role, cloud and topology are enums with their values, used where the declaration names them", () => {
  const values = (token: string): string[] => (schema.types[`wg-mesh:index:${token}`]?.enum ?? []).map((e) => e.value);
  assert.deepEqual(values("Role"), ["hub", "pop", "backend"]);
  assert.deepEqual(values("Cloud"), ["aws", "gcp", "azure", "external"]);
  assert.deepEqual(values("Topology"), ["hub", "regional", "full", "auto"]);
  for (const token of ["Role", "Cloud", "Topology"]) {
    for (const e of schema.types[`wg-mesh:index:${token}`]?.enum ?? []) assert.ok(e.description?.trim(), `${token}.${e.name} is documented`);
  }
  assert.equal(schema.resources["wg-mesh:index:Mesh"]?.inputProperties.topology?.$ref, "#/types/wg-mesh:index:Topology");
  const node = schema.types["wg-mesh:index:NodeDeclaration"]?.properties ?? {};
  assert.equal(node.role?.$ref, "#/types/wg-mesh:index:Role");
  assert.equal(node.cloud?.$ref, "#/types/wg-mesh:index:Cloud");
  assert.equal(schema.resources["wg-mesh:index:Mesh"]?.inputProperties.nodes?.additionalProperties?.$ref, "#/types/wg-mesh:index:NodeDeclaration");
  // topology auto's settings, typed and documented like the rest.
  const mesh = schema.resources["wg-mesh:index:Mesh"]?.inputProperties ?? {};
  for (const key of ["maxStretch", "maxPeers", "latency"]) assert.ok(mesh[key]?.description?.trim(), `Mesh.${key} is documented`);
  assert.equal(mesh.latency?.$ref, "#/types/wg-mesh:index:LatencyDeclaration");
  assert.ok(!(schema.types["wg-mesh:index:NodeDeclaration"]?.required ?? []).includes("site"), "a node's site may be left out");
});

test("nothing in the schema carries a private key: no input or output is one", () => {
  const text = JSON.stringify(schema);
  assert.doesNotMatch(text, /"privateKey"/i);
});

function prodDeclaration(): Record<string, unknown> {
  const doc = parse(readFileSync(join(REPO, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, Record<string, unknown>> };
  return doc.config["wg-mesh:mesh"] as Record<string, unknown>;
}

/** Each resource as the engine would see it: URN and inputs with secrets unwrapped, the stack left out. */
function resourcesOf(run: MockRun): [string, unknown][] {
  return run.resources
    .filter((r) => r.type !== "pulumi:pulumi:Stack")
    .map((r): [string, unknown] => [r.urn, unwrapSecrets(r.inputs)])
    .sort(([a], [b]) => (a < b ? -1 : 1));
}

test("construct makes the same resources, with the same inputs, as the TypeScript program does for prod", async () => {
  const program = await runStackFile("prod");
  const constructed = await runUnderMocks({
    project: PROJECT,
    stack: "prod",
    program: async () => (await provider.construct("mesh", "wg-mesh:index:Mesh", prodDeclaration(), {})).state,
  });
  const a = resourcesOf(program);
  const b = resourcesOf(constructed);
  assert.equal(b.length, a.length);
  assert.deepEqual(b, a);
  assert.deepEqual(Object.keys(constructed.outputs).sort(), ["externalConfigs", "keyRotation", "meshExport", "nodes", "summary"]);
  assert.deepEqual(constructed.outputs.meshExport, program.outputs.mesh, "the same mesh output as the stack's");
  assert.ok(isSecretValue(constructed.outputs.externalConfigs), "externalConfigs stays secret across construct");
  assert.equal((constructed.outputs.summary as { reachable: string }).reachable, "132 of 132 ordered pairs reachable");
});

test("construct refuses a bad declaration with the config checker's lines, as a RunError", async () => {
  const bad = { ...prodDeclaration(), overlay: "10.50.0.0/33" };
  await assert.rejects(
    runUnderMocks({ project: PROJECT, stack: "cs", program: async () => (await provider.construct("mesh", "wg-mesh:index:Mesh", bad, {})).state }),
    (err: Error) => {
      assert.match(err.message, /^overlay: "10\.50\.0\.0\/33" is not an IPv4 CIDR/m);
      assert.match(err.message, /problem in the declaration of Mesh mesh; nothing was deployed$/);
      return true;
    },
  );
});

test("a Hub on its own: its key, its own regional provider, its host, and a wg0.conf with exactly the peers it was given", async () => {
  const laptop = generateKeyPair();
  const office = generateKeyPair();
  const run = await runUnderMocks({
    project: PROJECT,
    stack: "solo",
    program: async () =>
      (
        await provider.construct(
          "edge",
          "wg-mesh:index:Hub",
          {
            cloud: "aws",
            aws: { region: "ap-southeast-2" },
            address: "10.9.0.1/24",
            mtu: 1380,
            forwarding: true,
            peers: [
              { name: "laptop", publicKey: laptop.publicKey, allowedIps: ["10.9.0.2/32"], persistentKeepalive: 25 },
              { name: "office", publicKey: office.publicKey, endpoint: "198.51.100.7:51820", allowedIps: ["10.9.1.0/24"] },
            ],
            adminCidrs: [],
            files: { "failover.table": "ireland fra\n" },
          },
          {},
        )
      ).state,
  });
  assert.deepEqual(ofType(run, "pulumi:providers:aws").map((p) => [p.name, input(p, "region")]), [["edge-aws", "ap-southeast-2"]]);
  const entry = ofType(run, "aws:secretsmanager/secretVersion:SecretVersion").find((v) => v.name === "edge-wg0");
  assert.deepEqual(parsePayload(input<string>(entry as RecordedResource, "secretString")).files, { "failover.table": "ireland fra\n" }, "files ride with the config");
  assert.ok(run.resources.filter((r) => r.type.startsWith("aws:")).every((r) => r.provider === "edge-aws"), "every AWS resource in the node's own region");
  const version = ofType(run, "aws:secretsmanager/secretVersion:SecretVersion").find((v) => v.name === "edge-wg0");
  assert.ok(version && isSecretValue(version.inputs.secretString));
  const conf = parseWgQuick(parsePayload(input<string>(version, "secretString")).config, "edge");
  assert.deepEqual(conf.iface.addresses, ["10.9.0.1/24"]);
  assert.equal(conf.iface.mtu, 1380);
  assert.equal(conf.iface.postUp[0], "sysctl -w net.ipv4.ip_forward=1");
  assert.deepEqual(
    conf.peers.map((p) => [p.publicKey, p.endpoint, p.allowedIps]),
    [
      [laptop.publicKey, undefined, ["10.9.0.2/32"]],
      [office.publicKey, "198.51.100.7:51820", ["10.9.1.0/24"]],
    ],
  );
  // A peer that dials in from behind NAT can come from anywhere: the port is open to the world.
  assert.deepEqual(run.outputs.wireguardFrom, ["0.0.0.0/0"]);
  assert.equal(run.outputs.nodeName, "edge");
  assert.equal(run.outputs.externalConfig, undefined);
});

test("a Backend on its own refuses, in one line, a placement its cloud needs", async () => {
  await assert.rejects(
    runUnderMocks({ project: PROJECT, stack: "solo", program: async () => (await provider.construct("b1", "wg-mesh:index:Backend", { cloud: "azure", address: "10.9.0.5/24", peers: [] }, {})).state }),
    (err: Error) => {
      assert.equal(err.message, "b1: cloud azure needs azure: { location }");
      return true;
    },
  );
});
