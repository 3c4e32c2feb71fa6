/**
 * A mesh of more than one batch of nodes (components/mesh.ts makes 50 at a time, turning the event
 * loop between batches): every node still gets exactly its planned peers, and a node that fails in
 * a later batch fails the whole run with its own message instead of hanging it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { worldMeshConfig } from "../../bench/world-mesh";
import { Mesh, type MeshArgs } from "../../components";
import { parseMeshConfig } from "../../infra/config";
import { planMesh } from "../../infra/plan";
import { nodeConfigPlan } from "../../infra/render/wgquick";
import { parseWgQuick } from "../../infra/wgquick";
import { runUnderMocks } from "../../stacks/synth/run";
import { deliveredConfigs, PROJECT } from "../support/pulumi";

const NODES = 130;

function declaration(nodes: number): MeshArgs {
  return worldMeshConfig(nodes, { topology: "auto" }) as unknown as MeshArgs;
}

test(`${NODES} nodes in three batches: every node's delivered wg0.conf has exactly its planned peers, by public key`, async () => {
  const decl = declaration(NODES);
  const plan = planMesh(parseMeshConfig(decl));
  const run = await runUnderMocks({
    project: PROJECT,
    stack: "large",
    timeoutMs: 300_000,
    program: () => {
      const mesh = new Mesh("mesh", decl);
      return { nodes: mesh.nodes, externalConfigs: mesh.externalConfigs };
    },
  });
  const reports = run.outputs.nodes as Record<string, { publicKey: string; peers: { name: string }[] }>;
  assert.equal(Object.keys(reports).length, NODES);
  const configs = deliveredConfigs(run);
  assert.equal(Object.keys(configs).length, NODES);
  for (const node of plan.spec.nodes) {
    const planned = nodeConfigPlan(plan, node.name).peers.map((p) => p.name).sort();
    assert.deepEqual(reports[node.name]?.peers.map((p) => p.name).sort(), planned, `${node.name}: peers in the report`);
    const keys = parseWgQuick(configs[node.name] as string, `${node.name}.conf`).peers.map((p) => p.publicKey).sort();
    assert.deepEqual(keys, planned.map((p) => reports[p]?.publicKey).sort(), `${node.name}: [Peer] keys in its wg0.conf`);
  }
});

test("a node refused in a later batch fails the run with its own message, and nothing hangs", async () => {
  const decl = declaration(70);
  // The 61st node: made in the second batch, after the constructor has returned.
  const victim = parseMeshConfig(decl).nodes[60]?.name as string;
  await assert.rejects(
    runUnderMocks({
      project: PROJECT,
      stack: "large",
      timeoutMs: 120_000,
      program: () => {
        pulumi.runtime.registerStackTransformation((args) => {
          if (args.name === `mesh-${victim}`) throw new pulumi.RunError(`nodes.${victim}: refused for this test`);
          return undefined;
        });
        const mesh = new Mesh("mesh", decl);
        return { nodes: mesh.nodes };
      },
    }),
    (err: unknown) => {
      // Pulumi names the properties the failure reached on its way (error serializing property
      // "outputs": ...); the node's own line ends it, and the chain stays short.
      assert.ok(err instanceof Error);
      assert.ok(err.message.endsWith(`nodes.${victim}: refused for this test`), err.message);
      assert.ok(err.message.length < 400, `a message of ${err.message.length} characters: ${err.message.slice(0, 200)}`);
      return true;
    },
  );
});
