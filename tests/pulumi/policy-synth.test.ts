/**
 * The whole policy pack, with the config CI gives it (policy/stack-config.ts), over every resource
 * the real program makes under the mock runtime: prod, staging, a hub with 60 AWS peers (more than
 * one security group holds, so the program opens its WireGuard port to the world) and a mesh split
 * across two stacks with peerStacks. Zero violations for each. And the same resources with one hand
 * edit each are caught, so the zero is not a pack that looks at nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { readFileSync } from "node:fs";
import { loadStackConfig } from "../../infra/config";
import { sourceLimit } from "../../infra/firewall";
import type { MeshExport } from "../../infra/mesh-export";
import type { MeshSpec, NodeSpec } from "../../infra/model";
import { unwrapSecrets } from "../../stacks/synth/mock-cloud";
import type { MockRun } from "../../stacks/synth/run";
import { policies } from "../../policy/policies";
import { policyConfigFor } from "../../policy/stack-config";
import { seedSpec } from "../support/seed-spec";
import { runMesh, runStackFile } from "../support/pulumi";
import { fromRecorded, runPolicies, type HarnessResource } from "../support/policy-harness";

const REPO = resolve(__dirname, "..", "..");

interface Case {
  resources: HarnessResource[];
  config: ReturnType<typeof policyConfigFor>;
}

function fromRun(run: MockRun, spec: Pick<MeshSpec, "adminCidrs" | "listenPort">): Case {
  return { resources: fromRecorded(run.resources), config: policyConfigFor(spec) };
}

async function stackFileCase(stack: string): Promise<Case> {
  const spec = loadStackConfig(readFileSync(join(REPO, `Pulumi.${stack}.yaml`), "utf8"), `Pulumi.${stack}.yaml`);
  return fromRun(await runStackFile(stack), spec);
}

/** A hub with 60 AWS backends, every one a peer of it: more /32s than one security group should hold. */
function bigHubSpec(): MeshSpec {
  const backends: NodeSpec[] = Array.from({ length: 60 }, (_, i) => ({
    name: `b${i + 1}`,
    role: "backend",
    region: "apps",
    site: "dub",
    address: `10.70.1.${i + 1}`,
    cloud: "aws",
    aws: { region: "eu-west-1" },
    links: [],
  }));
  return {
    overlay: "10.70.0.0/16",
    listenPort: 51820,
    persistentKeepalive: 25,
    mtu: "auto",
    topology: "hub",
    hub: "hub",
    keyEpoch: 1,
    presharedKeys: false,
    adminCidrs: ["198.51.100.0/24"],
    peerStacks: [],
    regions: [
      { name: "core", subnet: "10.70.0.0/24", area: "europe" },
      { name: "apps", subnet: "10.70.1.0/24", area: "europe" },
    ],
    nodes: [{ name: "hub", role: "hub", region: "core", site: "dub", address: "10.70.0.1", cloud: "aws", aws: { region: "eu-west-1" }, links: [] }, ...backends],
  };
}

/** The seed split across two stacks, apac importing eu through peerStacks (the README's second update). */
async function peerStacksCase(): Promise<Case> {
  const seed = seedSpec();
  const apacNodes = new Set(["hkg", "nrt", "sin", "syd"]);
  const apacRegions = new Set(["apac", "apac-pop"]);
  const part = (apac: boolean, peerStacks: string[]): MeshSpec => ({
    ...seed,
    peerStacks,
    regions: seed.regions.filter((r) => apacRegions.has(r.name) === apac),
    nodes: seed.nodes.filter((n) => apacNodes.has(n.name) === apac),
  });
  const eu = await runMesh(part(false, []), { stack: "eu" });
  const spec = part(true, ["acme/wg-mesh/eu"]);
  const apac = await runMesh(spec, { stack: "apac", stackOutputs: { "acme/wg-mesh/eu": { mesh: unwrapSecrets(eu.outputs.mesh) as MeshExport } } });
  return fromRun(apac, spec);
}

const violations = async (c: Case, resources = c.resources): Promise<string[]> => (await runPolicies(policies, resources, c.config)).map((v) => `${v.policy} ${v.resource}: ${v.message}`);
const caught = async (c: Case, resources: HarnessResource[]): Promise<string[]> => [...new Set((await runPolicies(policies, resources, c.config)).map((v) => v.policy))];

function edited(resources: HarnessResource[], type: string, edit: (props: Record<string, unknown>) => void, pick: (r: HarnessResource) => boolean = () => true): HarnessResource[] {
  const copy = structuredClone(resources);
  const target = copy.find((r) => r.type === type && pick(r));
  assert.ok(target, `a ${type} to edit`);
  edit(target.props);
  return copy;
}

/** The hand edits the pack exists for, each caught by exactly its policy. */
async function handEditsAreCaught(c: Case): Promise<void> {
  const { resources } = c;
  const hasType = (type: string): boolean => resources.some((r) => r.type === type);
  if (hasType("aws:ec2/securityGroup:SecurityGroup")) {
    assert.deepEqual(
      await caught(c, edited(resources, "aws:ec2/securityGroup:SecurityGroup", (p) => (p.ingress as Record<string, unknown>[]).push({ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }))),
      ["wg-no-world-ingress", "wg-ssh-admin-only"],
    );
    // SSH from a range that is not the stack's adminCidrs: only a real config can see it.
    assert.deepEqual(await caught(c, edited(resources, "aws:ec2/securityGroup:SecurityGroup", (p) => (p.ingress as Record<string, unknown>[]).push({ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["192.0.2.0/24"] }))), ["wg-ssh-admin-only"]);
  }
  if (hasType("aws:ec2/instance:Instance")) {
    assert.deepEqual(await caught(c, edited(resources, "aws:ec2/instance:Instance", (p) => (p.metadataOptions = { httpTokens: "optional" }))), ["wg-imdsv2"]);
    assert.deepEqual(await caught(c, edited(resources, "aws:ec2/instance:Instance", (p) => (p.rootBlockDevice = { encrypted: false }))), ["wg-disk-encrypted"]);
    assert.deepEqual(
      await caught(c, edited(resources, "aws:ec2/instance:Instance", (p) => (p.userData = `${String(p.userData)}\nPrivateKey = x\n`))),
      ["wg-no-key-in-user-data"],
    );
    // A node's read grant reaching another node's agent.
    const rolePolicies = resources.filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy");
    if (rolePolicies.length >= 2) {
      const other = (JSON.parse(String(rolePolicies[1]?.props.policy)) as { Statement: { Resource: string[] }[] }).Statement[0]?.Resource[1] as string;
      assert.deepEqual(
        await caught(c, edited(resources, "aws:iam/rolePolicy:RolePolicy", (p) => {
          const doc = JSON.parse(String(p.policy)) as { Statement: { Resource: string[] }[] };
          (doc.Statement[0] as { Resource: string[] }).Resource[1] = other;
          p.policy = JSON.stringify(doc);
        })),
        ["wg-vault-read-one-secret"],
      );
    }
    assert.deepEqual(
      await caught(c, edited(resources, "aws:iam/rolePolicy:RolePolicy", (p) => (p.policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: "*" }] })))),
      ["wg-vault-read-one-secret"],
    );
  }
  if (hasType("gcp:compute/firewall:Firewall")) {
    assert.deepEqual(
      await caught(c, edited(resources, "gcp:compute/firewall:Firewall", (p) => (p.sourceRanges = [...(p.sourceRanges as string[]), "198.51.100.77/32"]), (r) => r.name.endsWith("-wireguard"))),
      ["wg-wireguard-sources-are-peers"],
    );
  }
  if (hasType("azure:keyvault/keyVault:KeyVault")) {
    const vault = resources.find((r) => r.type === "azure:keyvault/keyVault:KeyVault") as HarnessResource;
    const extra: HarnessResource = { urn: `${vault.urn}-extra`, type: "azure:keyvault/secret:Secret", name: "extra", ...(vault.parent ? { parent: vault.parent } : {}), custom: true, props: { keyVaultId: vault.props.id } };
    assert.deepEqual(await caught(c, [...resources, extra]), ["wg-one-secret-per-vault"]);
  }
}

for (const stack of ["prod", "staging"]) {
  test(`the pack with CI's config over every resource of wgmesh synth --stack ${stack}: zero violations, and hand edits are caught`, async () => {
    const c = await stackFileCase(stack);
    assert.ok(c.resources.filter((r) => r.custom).length > 50, "the stack made its resources");
    assert.ok(((c.config["wg-ssh-admin-only"] as { adminCidrs: string[] }).adminCidrs).length > 0, "CI's config carries the stack's adminCidrs");
    assert.deepEqual(await violations(c), []);
    await handEditsAreCaught(c);
  });
}

test("a hub with 60 AWS peers: the program opens its WireGuard port to the world (more than one rule holds) and the pack accepts exactly that", async () => {
  const spec = bigHubSpec();
  const c = fromRun(await runMesh(spec), spec);
  const hubSg = c.resources.find((r) => r.type === "aws:ec2/securityGroup:SecurityGroup" && r.name === "mesh-hub-sg") as HarnessResource;
  const wireguard = (hubSg.props.ingress as { description: string; cidrBlocks: string[] }[]).find((r) => r.description === "WireGuard");
  assert.deepEqual(wireguard?.cidrBlocks, ["0.0.0.0/0"], `60 peers > ${sourceLimit("aws", spec.adminCidrs)} sources: the program opens to the world`);
  assert.deepEqual(await violations(c), []);
  // A backend (one peer) opened to the world by hand is still caught: the exception is the program's own rule, node by node.
  const opened = edited(c.resources, "aws:ec2/securityGroup:SecurityGroup", (p) => {
    for (const r of p.ingress as { description: string; cidrBlocks: string[] }[]) if (r.description === "WireGuard") r.cidrBlocks = ["0.0.0.0/0"];
  }, (r) => r.name === "mesh-b7-sg");
  assert.deepEqual(await violations(c, opened), [
    "wg-no-world-ingress mesh-b7-sg: mesh-b7-sg ingress[0]: admits 0.0.0.0/0 (udp 51820); every peer of this node has a fixed IP and they fit one rule, so the program admits each as /32 instead",
  ]);
  await handEditsAreCaught(c);
});

test("a stack with peerStacks: its firewalls admit the peer stack's nodes, and the pack finds them in the plan (no extraPeerIps needed)", async () => {
  const c = await peerStacksCase();
  const hkgRule = c.resources.find((r) => r.type === "gcp:compute/firewall:Firewall" && r.name === "mesh-hkg-wireguard") as HarnessResource;
  assert.ok((hkgRule.props.sourceRanges as string[]).length > 1, "hkg admits eu's hub and its own backends");
  assert.deepEqual(await violations(c), []);
  await handEditsAreCaught(c);
});

test("wg-no-single-point-of-failure, when a stack turns it on: prod's hub and POP are named, resilient prod passes, and links count only when asked", async () => {
  const on = (c: Case, links = false): Case => ({ ...c, config: { ...c.config, "wg-no-single-point-of-failure": { environments: ["pro*", "test"], links } } });
  const prod = await stackFileCase("prod");
  assert.deepEqual(await violations(prod), [], "off by default");
  const found = (await violations(on(prod))).filter((v) => v.startsWith("wg-no-single-point-of-failure"));
  assert.equal(found.length, 1, found.join("\n"));
  assert.match(found[0] as string, /^wg-no-single-point-of-failure mesh: stack prod must survive any single failure \(pro\*, test\), but its mesh has 2 single points of failure \(ireland down: 98 pairs; hkg down: 6 pairs\); declare resilience: node/);
  const text = readFileSync(join(REPO, "Pulumi.prod.yaml"), "utf8").replace(/^( {4}topology: .*)$/m, "$1\n    resilience: node");
  const spec = loadStackConfig(text, "Pulumi.prod.yaml");
  const resilient = fromRun(await runMesh(spec), spec);
  assert.deepEqual((await violations(on(resilient))).filter((v) => v.startsWith("wg-no-single-point-of-failure")), []);
  // Its spokes' uplinks and the core link are single points for some pairs (docs/failover.md says why).
  assert.match((await violations(on(resilient, true))).join("\n"), /wg-no-single-point-of-failure mesh: stack test must survive .* 11 single points of failure \(hkg--ireland cut: 64 pairs;.*\); resilience: node repairs node failures/);
  assert.deepEqual((await violations({ ...prod, config: { ...prod.config, "wg-no-single-point-of-failure": { environments: ["staging"] } } })).filter((v) => v.startsWith("wg-no-single")), [], "only the environments named");
});
