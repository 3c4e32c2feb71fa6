/** GCP hosts under Pulumi's mocks: firewall, service account, secret access, instance settings. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { MockRun } from "../../stacks/synth/run";
import { renderCloudInit } from "../../infra/render/cloudinit";
import { renderAgentBundle } from "../../infra/render/agent";
import { parsePayload } from "../../infra/render/payload";
import { gcpAgentSecretId, gcpSecretId, gcpServiceAccountId, vaultLocatorFor, type VaultLocator } from "../../infra/vault";
import { input, named, ofType, one, oneCloudSpec, parentOf, PROJECT, publicIps, resourcesOf, runMesh } from "../support/pulumi";

const ROLES = { hub1: "wg-mesh:index:Hub", pop1: "wg-mesh:index:Pop", app1: "wg-mesh:index:Backend" } as const;

interface Firewall {
  network: string;
  direction: string;
  priority: number;
  allows?: { protocol: string; ports?: string[] }[];
  denies?: { protocol: string; ports?: string[] }[];
  sourceRanges: string[];
  targetServiceAccounts: string[];
  disabled?: boolean;
}

let cached: MockRun | undefined;
async function gcp(): Promise<MockRun> {
  cached ??= await runMesh(oneCloudSpec("gcp"));
  return cached;
}

function firewalls(run: MockRun, node: string): Record<string, Firewall> {
  return Object.fromEntries(
    ofType(run, "gcp:compute/firewall:Firewall")
      .filter((f) => f.name.startsWith(named(node, "-")))
      .map((f) => [f.name.slice(named(node, "-").length), Object.fromEntries(Object.keys(f.inputs).map((k) => [k, input(f, k)])) as unknown as Firewall]),
  );
}

function emailOf(node: string): string {
  return `${gcpServiceAccountId({ project: PROJECT, stack: "test", node })}@wgmesh-test.iam.gserviceaccount.com`;
}

test("each role is its own component with one wg-mesh:gcp:Host beneath it", async () => {
  const run = await gcp();
  for (const [node, type] of Object.entries(ROLES)) {
    assert.equal(parentOf(run, one(run, "wg-mesh:gcp:Host", node))?.urn, one(run, type, node).urn);
    assert.deepEqual(
      resourcesOf(run, node).map((r) => r.type).sort(),
      [
        "gcp:compute/address:Address",
        "gcp:compute/firewall:Firewall",
        "gcp:compute/firewall:Firewall",
        "gcp:compute/firewall:Firewall",
        "gcp:compute/instance:Instance",
        "gcp:secretmanager/secret:Secret",
        "gcp:secretmanager/secret:Secret",
        "gcp:secretmanager/secretIamMember:SecretIamMember",
        "gcp:secretmanager/secretIamMember:SecretIamMember",
        "gcp:secretmanager/secretVersion:SecretVersion",
        "gcp:secretmanager/secretVersion:SecretVersion",
        "gcp:serviceaccount/account:Account",
        "random:index/randomBytes:RandomBytes",
        "wg-mesh:gcp:Host",
      ],
    );
  }
});

test("firewall: WireGuard from the peers' /32s (the world on the hub), SSH from adminCidrs, everything else denied; aimed at the node's own service account", async () => {
  const run = await gcp();
  const ips = publicIps(run);
  const expected: Record<string, string[]> = {
    hub1: ["0.0.0.0/0"],
    pop1: [`${ips.app1}/32`, `${ips.hub1}/32`].sort(),
    app1: [`${ips.hub1}/32`, `${ips.pop1}/32`].sort(),
  };
  for (const node of Object.keys(ROLES)) {
    const fw = firewalls(run, node);
    assert.deepEqual(Object.keys(fw).sort(), ["deny", "ssh", "wireguard"], node);
    for (const rule of Object.values(fw)) {
      assert.equal(rule.direction, "INGRESS");
      assert.equal(rule.network, "default", "the project's default network unless one is given");
      assert.deepEqual(rule.targetServiceAccounts, [emailOf(node)], `${node}: only this node's VM`);
    }
    assert.deepEqual(fw.wireguard?.allows, [{ protocol: "udp", ports: ["51820"] }]);
    assert.deepEqual(fw.wireguard?.sourceRanges, expected[node]);
    assert.equal(fw.wireguard?.disabled, false);
    assert.deepEqual(fw.ssh?.allows, [{ protocol: "tcp", ports: ["22"] }]);
    assert.deepEqual(fw.ssh?.sourceRanges, ["203.0.113.0/24"]);
    assert.deepEqual(fw.deny?.denies, [{ protocol: "all" }]);
    assert.deepEqual(fw.deny?.sourceRanges, ["0.0.0.0/0"]);
    // GCP applies the lowest number first: our allows, then our deny, then the default network's own allow rules (65534).
    assert.ok((fw.wireguard?.priority ?? 0) < (fw.deny?.priority ?? 0) && (fw.deny?.priority ?? 0) < 65534);
    assert.equal(fw.ssh?.priority, fw.wireguard?.priority);
  }
});

test("no adminCidrs: no SSH rule; the deny rule still shuts the default network's SSH rule out", async () => {
  const run = await runMesh(oneCloudSpec("gcp", { adminCidrs: [] }));
  for (const node of Object.keys(ROLES)) assert.deepEqual(Object.keys(firewalls(run, node)).sort(), ["deny", "wireguard"]);
});

test("the service account may access exactly its own node's two secrets (config and agent), and the VM runs as it with the cloud-platform scope", async () => {
  const run = await gcp();
  assert.equal(ofType(run, "gcp:secretmanager/secretIamMember:SecretIamMember").length, 2 * Object.keys(ROLES).length);
  const agent = renderAgentBundle();
  for (const node of Object.keys(ROLES)) {
    const account = one(run, "gcp:serviceaccount/account:Account", `${node}-sa`);
    assert.equal(input(account, "accountId"), gcpServiceAccountId({ project: PROJECT, stack: "test", node }));
    for (const [suffix, id] of [["wg0", gcpSecretId({ project: PROJECT, stack: "test", node })], ["agent", gcpAgentSecretId({ project: PROJECT, stack: "test", node })]] as const) {
      const secret = one(run, "gcp:secretmanager/secret:Secret", `${node}-${suffix}`);
      assert.equal(input(secret, "secretId"), id);
      const member = one(run, "gcp:secretmanager/secretIamMember:SecretIamMember", `${node}-read-${suffix}`);
      assert.equal(input(member, "role"), "roles/secretmanager.secretAccessor");
      assert.equal(input(member, "member"), `serviceAccount:${emailOf(node)}`);
      assert.equal(input(member, "secretId"), input(secret, "secretId"), "granted on the secret, not the project");
      assert.equal(input(member, "project"), "wgmesh-test");
    }
    const agentVersion = one(run, "gcp:secretmanager/secretVersion:SecretVersion", `${node}-agent`);
    assert.equal(input(agentVersion, "secretData"), agent.value);

    const vm = one(run, "gcp:compute/instance:Instance", `${node}-vm`);
    assert.deepEqual(input(vm, "serviceAccount"), { email: emailOf(node), scopes: ["cloud-platform"] });
    const version = one(run, "gcp:secretmanager/secretVersion:SecretVersion", `${node}-wg0`);
    assert.equal(input(version, "secret"), one(run, "gcp:secretmanager/secret:Secret", `${node}-wg0`).id);
    assert.match(parsePayload(input<string>(version, "secretData")).config, new RegExp(`^# ${node} \\(`));
    assert.ok(version.dependencies.includes(agentVersion.urn), "the config waits for the agent it names");
  }
});

test("instances: static address, user data in metadata, OS Login, shielded boot, encrypted-by-default disk with an Ubuntu LTS image", async () => {
  const run = await gcp();
  const ips = publicIps(run);
  for (const node of Object.keys(ROLES)) {
    const vm = one(run, "gcp:compute/instance:Instance", `${node}-vm`);
    const nic = input<{ network: string; accessConfigs: { natIp: string }[] }[]>(vm, "networkInterfaces");
    assert.equal(nic.length, 1);
    assert.equal(nic[0]?.network, "default");
    assert.equal(nic[0]?.accessConfigs[0]?.natIp, ips[node]);
    const metadata = input<Record<string, string>>(vm, "metadata");
    const vault = vaultLocatorFor({ name: node, cloud: "gcp", gcp: { project: "wgmesh-test" } }, PROJECT, "test") as VaultLocator;
    assert.equal(metadata["user-data"], renderCloudInit({ node, vault }));
    // Metadata updates in place, but a running VM has no use for new user data (cloud-init ran it once).
    assert.deepEqual(vm.ignoreChanges, ['metadata["user-data"]']);
    assert.equal(metadata["enable-oslogin"], "TRUE");
    assert.equal(vm.inputs.metadataStartupScript, undefined, "a startup script would replace the VM when it changed");
    assert.equal(input<{ enableSecureBoot: boolean }>(vm, "shieldedInstanceConfig").enableSecureBoot, true);
    assert.equal(input<{ initializeParams: { image: string } }>(vm, "bootDisk").initializeParams.image, "ubuntu-os-cloud/ubuntu-2404-lts-amd64");
    assert.equal(input(vm, "machineType"), node === "app1" ? "e2-micro" : "e2-small");
    assert.equal(input(vm, "zone"), "europe-west1-b");
    assert.equal(input(vm, "canIpForward"), undefined, "forwarding happens inside the tunnel; the VPC never sees foreign sources");
  }
});

test("a given network and subnetwork are used for the instance and the firewall rules alike", async () => {
  const spec = oneCloudSpec("gcp");
  const nodes = spec.nodes.map((n) => (n.name === "app1" && n.gcp ? { ...n, gcp: { ...n.gcp, subnetwork: "apps-subnet" } } : n.name === "pop1" && n.gcp ? { ...n, gcp: { ...n.gcp, network: "edge-net" } } : n));
  const run = await runMesh({ ...spec, nodes });
  const app = input<{ network: string; subnetwork: string }[]>(one(run, "gcp:compute/instance:Instance", "app1-vm"), "networkInterfaces")[0];
  assert.equal(app?.subnetwork, "apps-subnet");
  assert.equal(app?.network, "projects/wgmesh-test/global/networks/of-apps-subnet", "looked up from the subnetwork");
  for (const rule of Object.values(firewalls(run, "app1"))) assert.equal(rule.network, app?.network);
  for (const rule of Object.values(firewalls(run, "pop1"))) assert.equal(rule.network, "edge-net");
});

test("a chosen image known not to run the bootstrap is refused before anything exists, naming the node and why; Ubuntu and other projects' images pass", async () => {
  const withImages = (images: Record<string, string>): ReturnType<typeof oneCloudSpec> => {
    const spec = oneCloudSpec("gcp");
    return { ...spec, nodes: spec.nodes.map((n) => (n.gcp && images[n.name] ? { ...n, gcp: { ...n.gcp, image: images[n.name] as string } } : n)) };
  };
  await assert.rejects(runMesh(withImages({ hub1: "debian-cloud/debian-12", pop1: "projects/cos-cloud/global/images/family/cos-stable", app1: "rocky-linux-9" })), (err) => {
    const lines = (err as Error).message.split("\n");
    assert.deepEqual(lines.map((l) => l.replace(/: ".*/, "")), ["nodes.hub1.gcp.image", "nodes.pop1.gcp.image", "nodes.app1.gcp.image", "3 problems a cloud would refuse; nothing was deployed"]);
    assert.match(lines[0] ?? "", /Google's Debian images do not include cloud-init, so the VM would boot without its tunnel; use an Ubuntu LTS image/);
    assert.match(lines[1] ?? "", /Container-Optimized OS has no package manager/);
    assert.match(lines[2] ?? "", /"rocky-linux-9" .*Rocky Linux images do not include cloud-init/);
    return true;
  });
  const run = await runMesh(withImages({ hub1: "ubuntu-os-cloud/ubuntu-2204-lts", app1: "my-images/golden-wireguard-7" }));
  assert.equal(input<{ initializeParams: { image: string } }>(one(run, "gcp:compute/instance:Instance", "app1-vm"), "bootDisk").initializeParams.image, "my-images/golden-wireguard-7");
});
