/**
 * The program refuses a bad stack before anything exists: a config that does not validate, a
 * plan that cannot be made, a plan the simulator cannot carry. Each is a RunError (Pulumi prints
 * its message alone) with one line per problem.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { freshRequire, runUnderMocks } from "../../stacks/synth/run";
import { MeshRunError } from "../../components/errors";
import type { SimulationSummary } from "../../infra/simulate";
import { provePlan } from "../../components/prove";
import { seedSpec } from "../support/seed-spec";
import { PROJECT, REPO, runMesh } from "../support/pulumi";

function lines(err: unknown): string[] {
  assert.ok(pulumi.RunError.isInstance(err), `a RunError, not ${String(err)}`);
  return (err as Error).message.split("\n");
}

test("a config that does not validate: one line per problem, by config path", async () => {
  const mesh = {
    overlay: "10.50.0.0/16",
    topology: "regional",
    hub: "ireland",
    regions: { central: { subnet: "10.50.0.0/24" }, "apac-pop": { subnet: "10.50.5.0/24" } },
    nodes: {
      ireland: { role: "hub", region: "central", site: "dub", address: "10.50.0.1", cloud: "aws", aws: { region: "eu-west-1" } },
      hkg: { role: "pop", region: "apac-pop", site: "hkg", address: "10.50.9.1", cloud: "gcp", gcp: { project: "edgeproxy-prod", zone: "asia-east2-a" } },
    },
  };
  await assert.rejects(
    runUnderMocks({ project: PROJECT, stack: "bad", config: { "wg-mesh:mesh": JSON.stringify(mesh) }, program: () => freshRequire(join(REPO, "stacks", "index.ts")) }),
    (err) => {
      const l = lines(err);
      assert.ok(l.some((x) => x.startsWith("nodes.hkg.address: 10.50.9.1 is outside region apac-pop")), l.join("\n"));
      assert.match(l.at(-1) ?? "", /^1 problem in wg-mesh:mesh; nothing was deployed$/);
      return true;
    },
  );
});

test("a hub no one can reach is refused before any resource exists, by the Mesh's own check of its declaration", async () => {
  const spec = seedSpec();
  const nodes = spec.nodes.map((n) => (n.name === "ireland" ? { name: n.name, role: n.role, region: n.region, site: n.site, address: n.address, cloud: "external" as const, links: [] } : n));
  await assert.rejects(runMesh({ ...spec, nodes }), (err) => {
    const l = lines(err);
    assert.equal(l[0], "nodes.ireland.external.endpoint: the hub must be reachable: give it a public endpoint");
    assert.match(l.at(-1) ?? "", /^1 problem in the declaration of Mesh mesh; nothing was deployed$/);
    return true;
  });
});

test("a plan that cannot be made (an MTU the links cannot carry) is refused before any resource exists", async () => {
  await assert.rejects(runMesh(seedSpec({ mtu: 1500 })), (err) => {
    const l = lines(err);
    assert.match(l[0] ?? "", /^mtu: 1500 exceeds what the links carry: at most 1380 \(\w+'s gcp underlay MTU 1460 minus 80\)/);
    assert.match(l.at(-1) ?? "", /^1 problem in the mesh plan; nothing was deployed$/);
    return true;
  });
});

test("a plan the simulator cannot carry is refused with one line per unreachable pair", () => {
  const broken = (): SimulationSummary => ({
    nodes: 2,
    failures: [{ from: "hkg", to: "gru", reachable: false, path: ["hkg"], returnPath: [], failure: { direction: "forward", at: "gru", reason: "source 10.50.5.1 is outside AllowedIPs of peer ireland" } }],
    failuresOmitted: 0,
    reachable: 1,
    total: 2,
    findings: [],
  });
  assert.throws(
    () => provePlan(seedSpec(), broken),
    (err) => {
      assert.ok(err instanceof MeshRunError);
      assert.deepEqual(lines(err), [
        "hkg -> gru: dropped at gru: source 10.50.5.1 is outside AllowedIPs of peer ireland",
        "1 of 2 ordered pairs reachable in the simulator; nothing was deployed (run wgmesh plan to see every path)",
      ]);
      return true;
    },
  );
});

test("the message survives Pulumi prefixing it at every resource input it fails", () => {
  const err = new MeshRunError("peerStacks[0] (a/b/c): node x's address 10.1.1.1 is also nodes.y.address here");
  err.message = `error serializing property "secretString": ${err.message}`;
  assert.equal(err.message, "peerStacks[0] (a/b/c): node x's address 10.1.1.1 is also nodes.y.address here");
  assert.ok(pulumi.RunError.isInstance(err));
});
