/**
 * What a first `pulumi up` in a new account, project or subscription meets, which mocks accept and the
 * clouds do not: a region without a default VPC, a GCP project whose APIs are off. Each is either
 * handled by the program or refused in one line that names the node and the fix.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { Hub } from "../../components";
import { GCP_APIS } from "../../components/gcp-apis";
import { runUnderMocks, type MockRun, type RecordedResource } from "../../stacks/synth/run";
import { oneCloudSpec, ofType, PROJECT, runMesh, runStackFile } from "../support/pulumi";

function below(run: MockRun, root: RecordedResource): RecordedResource[] {
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

test("AWS: a node without subnetId in a region that has no default VPC fails in one line naming the node and aws.subnetId", async () => {
  const spec = oneCloudSpec("aws");
  const nodes = spec.nodes.map((n) => (n.name === "app1" ? { ...n, aws: { region: "eu-north-1" } } : n));
  await assert.rejects(runMesh({ ...spec, nodes }, { noDefaultVpc: ["eu-north-1"] }), (err) => {
    assert.ok(pulumi.RunError.isInstance(err), String(err));
    const message = (err as Error).message;
    assert.equal(message.split("\n").length, 1, message);
    assert.match(message, /^nodes\.app1\.aws: eu-north-1 has no default VPC; set aws\.subnetId to a subnet/);
    return true;
  });
  // With a subnet given there is nothing to look up, and the same region works.
  const given = spec.nodes.map((n) => (n.name === "app1" ? { ...n, aws: { region: "eu-north-1", subnetId: "subnet-0b0b0b0b" } } : n));
  const run = await runMesh({ ...spec, nodes: given }, { noDefaultVpc: ["eu-north-1"] });
  assert.ok(ofType(run, "aws:ec2/instance:Instance").length === 3);
});

test("AWS: the default VPC is looked up per node without a subnet, in the node's own region", async () => {
  const run = await runMesh(oneCloudSpec("aws"));
  const lookups = run.cloud.calls.filter((c) => c.token === "aws:ec2/getVpcs:getVpcs");
  assert.equal(lookups.length, 3);
  for (const l of lookups) assert.deepEqual(l.inputs.filters, [{ name: "is-default", values: ["true"] }]);
});

test("GCP: prod enables compute, iam and secretmanager once in its project, left on at destroy; every GCP resource waits for them", async () => {
  const run = await runStackFile("prod");
  const services = ofType(run, "gcp:projects/service:Service");
  assert.deepEqual(services.map((s) => [s.inputs.project, s.inputs.service]).sort(), GCP_APIS.map((api) => ["edgeproxy-prod", `${api}.googleapis.com`]).sort());
  for (const s of services) {
    assert.equal(s.inputs.disableOnDestroy, false, "another stack in the project may use the API");
    assert.equal(s.inputs.disableDependentServices, false);
    assert.equal(run.resources.find((r) => r.urn === s.parent)?.type, "wg-mesh:index:Mesh");
  }
  const urns = services.map((s) => s.urn).sort();
  const gcpResources = run.resources.filter((r) => r.custom && r.type.startsWith("gcp:") && r.type !== "gcp:projects/service:Service");
  assert.ok(gcpResources.length >= 4 * 8, `${gcpResources.length} GCP resources`);
  for (const r of gcpResources) {
    for (const urn of urns) assert.ok(r.dependencies.includes(urn), `${r.type} ${r.name} does not wait for ${urn}`);
  }
});

test("GCP: one Service per project and API however many nodes, across two projects", async () => {
  const spec = oneCloudSpec("gcp");
  const nodes = spec.nodes.map((n) => (n.name === "app1" ? { ...n, gcp: { project: "wgmesh-apps", region: "europe-west1", zone: "europe-west1-b" } } : n));
  const run = await runMesh({ ...spec, nodes });
  const services = ofType(run, "gcp:projects/service:Service").map((s) => `${String(s.inputs.project)} ${String(s.inputs.service)}`).sort();
  assert.deepEqual(services, ["wgmesh-apps", "wgmesh-test"].flatMap((p) => GCP_APIS.map((api) => `${p} ${api}.googleapis.com`)).sort());
  const app1 = run.resources.find((r) => r.type === "gcp:compute/instance:Instance" && r.name === "mesh-app1-vm") as RecordedResource;
  const own = ofType(run, "gcp:projects/service:Service").filter((s) => s.inputs.project === "wgmesh-apps").map((s) => s.urn);
  const other = ofType(run, "gcp:projects/service:Service").filter((s) => s.inputs.project === "wgmesh-test").map((s) => s.urn);
  for (const urn of own) assert.ok(app1.dependencies.includes(urn));
  for (const urn of other) assert.ok(!app1.dependencies.includes(urn), "a node waits for its own project's APIs only");
});

test("GCP: a Hub used on its own enables its project's APIs itself, and its resources wait for them", async () => {
  const run = await runUnderMocks({
    project: PROJECT,
    stack: "solo",
    program: () => {
      new Hub("edge", {
        cloud: "gcp",
        gcp: { project: "wgmesh-solo", zone: "europe-west1-b" },
        address: "10.9.0.1/24",
        peers: [{ name: "laptop", publicKey: "x".repeat(43) + "=", allowedIps: ["10.9.0.2/32"] }],
      });
    },
  });
  const hub = run.resources.find((r) => r.type === "wg-mesh:index:Hub") as RecordedResource;
  const services = below(run, hub).filter((r) => r.type === "gcp:projects/service:Service");
  assert.deepEqual(services.map((s) => s.inputs.service).sort(), GCP_APIS.map((api) => `${api}.googleapis.com`).sort());
  for (const r of below(run, hub).filter((x) => x.custom && x.type.startsWith("gcp:") && x.type !== "gcp:projects/service:Service")) {
    for (const s of services) assert.ok(r.dependencies.includes(s.urn), `${r.type} ${r.name}`);
  }
});

test("upgrading: a running VM takes no new wg-mesh user data, which cloud-init would not run again, on any cloud; URNs stay", async () => {
  const run = await runMesh(oneCloudSpec("aws"));
  for (const vm of ofType(run, "aws:ec2/instance:Instance")) {
    assert.deepEqual(vm.ignoreChanges, ["ami", "userData", "userDataBase64"], vm.name);
    assert.equal(vm.inputs.userDataReplaceOnChange, false, "and never a new VM for it");
  }
  const gcp = await runMesh(oneCloudSpec("gcp"));
  for (const vm of ofType(gcp, "gcp:compute/instance:Instance")) assert.deepEqual(vm.ignoreChanges, ['metadata["user-data"]'], vm.name);
  const azure = await runMesh(oneCloudSpec("azure"));
  for (const vm of ofType(azure, "azure:compute/linuxVirtualMachine:LinuxVirtualMachine")) assert.deepEqual(vm.ignoreChanges, ["customData"], `${vm.name}: customData is ForceNew`);
});
