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
import { MeshNode, ROLE_CLASSES } from "../../components/mesh-node";
import { MeshPackageProvider } from "../../components/package-provider";
import { ROLE_DESCRIPTIONS } from "../../components/roles";
import { NODE_TYPES } from "../../components/type-tokens";
import { ROLES } from "../../infra/model";
import { inferPackageSchema } from "../../components/provider";
import { generateKeyPair } from "../../infra/keys";
import { parseWgQuick } from "../../infra/wgquick";
import { parsePayload } from "../../infra/render/payload";
import { unwrapSecrets } from "../../stacks/synth/mock-cloud";
import { runUnderMocks, type MockRun, type RecordedResource } from "../../stacks/synth/run";
import { input, isSecretValue, ofType, PROJECT, REPO, runStackFile } from "../support/pulumi";
import { readCsharpMesh, readmeBlock, type SchemaForCsharp } from "../support/readme-examples";
import { csharpNamespace, type SdkNames } from "../support/sdk-names";

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

let provider: MeshPackageProvider;
let schema: Schema;

before(() => {
  // The schema as npm run build ships it, and the provider the plugin serves it with.
  const text = JSON.stringify(inferPackageSchema());
  provider = new MeshPackageProvider(text);
  schema = JSON.parse(text) as Schema;
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

test("Hub, Pop and Backend are one class in three roles: the schema's three entries differ only by their role's description", () => {
  for (const role of ROLES) assert.equal(Object.getPrototypeOf(ROLE_CLASSES[role]), MeshNode, role);
  const specs = ROLES.map((role) => schema.resources[NODE_TYPES[role]] as ResourceSpec);
  assert.deepEqual(specs.map((s) => s.description), ROLES.map((role) => ROLE_DESCRIPTIONS[role]));
  const { description: _h, ...hub } = specs[0] as ResourceSpec;
  for (const s of specs.slice(1)) {
    const { description: _d, ...rest } = s;
    assert.deepEqual(rest, hub);
  }
  assert.ok(!(`wg-mesh:index:${MeshNode.name}` in schema.resources), "the class itself is not a component of the package");
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

test("the schema names its namespace and the C# SDK's, so a path, the registry and a git URL all give Pulumi.WgMesh", async () => {
  const served = JSON.parse(await provider.getSchema()) as Schema & SdkNames;
  assert.deepEqual(served, schema);
  for (const source of [{ kind: "path" }, { kind: "registry" }, { kind: "git", url: "https://github.com/acme/wg-mesh@v0.1.0" }] as const) {
    assert.equal(csharpNamespace(served, source), "Pulumi.WgMesh", source.kind);
  }
  // The oracle itself: without the names the schema sets, a git URL's owner would win.
  const { namespace: _namespace, language: _language, ...bare } = served;
  assert.equal(csharpNamespace(bare, { kind: "git", url: "https://github.com/acme/wg-mesh@v0.1.0" }), "Acme.WgMesh");
  assert.equal(csharpNamespace(bare, { kind: "path" }), "Pulumi.WgMesh");
});

test("the README's C# program: its classes, properties and enum members are the schema's, and its Mesh, made through construct, carries every pair", async () => {
  const program = readmeBlock("csharp", "using Pulumi.WgMesh;");
  const cs = readCsharpMesh(program, schema as unknown as SchemaForCsharp);
  assert.deepEqual(cs.problems, []);
  assert.ok(cs.usings.includes(csharpNamespace(schema, { kind: "git", url: "https://github.com/acme/wg-mesh@v0.1.0" })));
  assert.ok(cs.outputsRead.length > 0 && "nodes" in cs.args, "the program declares nodes and reads outputs");
  // The reader holds names to the schema: a misspelt property or enum member is caught.
  assert.match(readCsharpMesh(program.replace("Overlay =", "Overlays ="), schema as unknown as SchemaForCsharp).problems.join("\n"), /MeshArgs\.Overlays: not a property/);
  assert.match(readCsharpMesh(program.replace("Role.Hub", "Role.Hubs"), schema as unknown as SchemaForCsharp).problems.join("\n"), /Role\.Hubs is not an enum member/);
  const run = await runUnderMocks({ project: PROJECT, stack: "csharp", program: async () => (await provider.construct("mesh", "wg-mesh:index:Mesh", cs.args, {})).state });
  const reachable = (run.outputs.summary as { reachable: string }).reachable;
  assert.match(reachable, /^(\d+) of \1 ordered pairs reachable$/);
  assert.notEqual(reachable, "0 of 0 ordered pairs reachable");
});

test("construct refuses a type the package does not have, naming the ones it has", async () => {
  await assert.rejects(provider.construct("x", "wg-mesh:index:Gateway", {}, {}), /^Error: wg-mesh has no component "wg-mesh:index:Gateway"; it has wg-mesh:index:Mesh, wg-mesh:index:Hub, wg-mesh:index:Pop, wg-mesh:index:Backend$/);
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
