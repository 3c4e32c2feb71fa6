/** `wgmesh plan --cost`: the monthly estimate per node from the shipped, dated price table. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { meshCost, nodeCost, nodeSize, pricedSizes, syncPeriodMinutes } from "../../infra/cost";
import prices from "../../infra/cost/prices-2025.json";
import { awsInstanceType, azureVmSize, gcpMachineType } from "../../infra/host-defaults";
import { ROLES, type NodeSpec } from "../../infra/model";
import { loadStack } from "../../workspace/project";

const REPO = join(__dirname, "..", "..");
const BIN = join(REPO, "cli", "bin.js");

test("the table prices every default size of every role on every cloud, and says when and where its prices come from", () => {
  for (const role of ROLES) {
    assert.ok(pricedSizes("aws").includes(awsInstanceType(role)), `aws ${role}`);
    assert.ok(pricedSizes("gcp").includes(gcpMachineType(role)), `gcp ${role}`);
    assert.ok(pricedSizes("azure").includes(azureVmSize(role)), `azure ${role}`);
  }
  assert.match(prices.date, /^\d{4}-\d{2}$/);
  for (const cloud of ["aws", "gcp", "azure"] as const) {
    assert.ok(prices[cloud].sources.length >= 4 && prices[cloud].sources.every((s) => s.startsWith("https://")), cloud);
  }
});

test("prod, node by node: each item is the table's price times the month, the vault reads one per sync timer period", () => {
  const spec = loadStack("prod", REPO).spec;
  const cost = meshCost(spec);
  assert.equal(syncPeriodMinutes(), 1);
  assert.equal(cost.readsPerMonth, 730 * 60);
  const ireland = cost.nodes.find((n) => n.name === "ireland");
  assert.deepEqual(ireland, {
    name: "ireland",
    role: "hub",
    cloud: "aws",
    size: "t3.small",
    items: [
      { what: "VM t3.small", monthly: 15.18 },
      { what: "public IPv4 address", monthly: 3.65 },
      { what: "root volume, gp3, 8 GiB (Ubuntu's AMI)", monthly: 0.64 },
      { what: "Secrets Manager secret x2 (config entry, node agent)", monthly: 0.8 },
      { what: "GetSecretValue, 43,800 a month", monthly: 0.22 },
    ],
    monthly: 20.49,
    unpriced: [],
  });
  const syd = cost.nodes.find((n) => n.name === "syd");
  assert.equal(syd?.size, "Standard_B1s");
  assert.equal(syd?.items.find((i) => i.what.startsWith("Key Vault secret"))?.monthly, 0);
  assert.equal(cost.nodes.length, spec.nodes.length);
  assert.equal(cost.monthly, Math.round(cost.nodes.reduce((s, n) => s + n.monthly, 0) * 100) / 100);
});

test("a size the table does not list is named, not guessed; an external node costs nothing in the clouds", () => {
  const spec = loadStack("prod", REPO).spec;
  const iad = spec.nodes.find((n) => n.name === "iad") as NodeSpec;
  const big = { ...iad, aws: { ...(iad.aws as NonNullable<NodeSpec["aws"]>), instanceType: "m7i.48xlarge" } };
  assert.equal(nodeSize(big), "m7i.48xlarge");
  const c = nodeCost(big, 43_800);
  assert.deepEqual(c.unpriced, ["VM m7i.48xlarge"]);
  assert.equal(c.monthly, 3.65 + 0.64 + 0.8 + 0.22);
  const external = nodeCost({ ...iad, cloud: "external", aws: undefined, external: { endpoint: "198.51.100.7" } }, 43_800);
  assert.deepEqual([external.monthly, external.items], [0, []]);
});

test("wgmesh plan --cost prints the estimate, --cost --json the same figures", () => {
  const text = spawnSync(process.execPath, [BIN, "plan", "--stack", "prod", "--cost"], { cwd: REPO, encoding: "utf8" });
  assert.equal(text.status, 0, text.stderr);
  const json = spawnSync(process.execPath, [BIN, "plan", "--stack", "prod", "--cost", "--json"], { cwd: REPO, encoding: "utf8" });
  assert.equal(json.status, 0, json.stderr);
  const doc = JSON.parse(json.stdout) as { monthly: number; table: { date: string } };
  assert.match(text.stdout, new RegExp(`^Monthly cost of stack prod: USD ${doc.monthly.toFixed(2)}, 12 nodes\\nList prices of ${doc.table.date} `));
  assert.match(text.stdout, /\nireland +hub +aws +t3\.small +15\.18 +3\.65 +0\.64 +0\.80 +0\.22 +20\.49\n/);
  assert.ok(text.stdout.includes(readFileSync(join(REPO, "infra", "cost", "prices-2025.json"), "utf8").match(/https:\/\/aws\.amazon\.com\/ec2\/pricing\/on-demand\/[^"]*/)?.[0] as string));
  const both = spawnSync(process.execPath, [BIN, "plan", "--stack", "prod", "--cost", "--rotation"], { cwd: REPO, encoding: "utf8" });
  assert.equal(both.status, 1);
  assert.equal(both.stderr, "wgmesh: --cost chooses what is printed, as --rotation and --mermaid do; use one\n");
});
