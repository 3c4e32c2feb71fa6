/**
 * The component package started the way `pulumi package add` starts it: Pulumi's Node.js language host
 * runs @pulumi/pulumi's run-plugin on the package folder (here this checkout, built: package.json main
 * is dist/components/plugin.js) from the consumer's working directory (an empty one, as a C# project's
 * would be), and the CLI asks the plugin for its schema over gRPC. No Pulumi CLI is here; everything
 * after the launch is real. The consumer test does the same from the installed package.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { schemaFromPlugin } from "../../bench/plugin-client";
import { REPO } from "../support/pulumi";

test("the plugin boots under Pulumi's launcher from a consumer's folder and serves the schema npm run build made", { timeout: 600_000 }, async (t) => {
  const consumer = mkdtempSync(join(tmpdir(), "wgmesh-consumer-"));
  t.after(() => rmSync(consumer, { recursive: true, force: true }));
  const served = await schemaFromPlugin(REPO, consumer);
  const parsed = JSON.parse(served.schema) as { name: string; namespace: string; resources: Record<string, unknown> };
  assert.equal(parsed.name, "wg-mesh");
  assert.equal(parsed.namespace, "pulumi");
  assert.deepEqual(Object.keys(parsed.resources).sort(), ["wg-mesh:index:Backend", "wg-mesh:index:Hub", "wg-mesh:index:Mesh", "wg-mesh:index:Pop"]);
  assert.deepEqual(parsed, JSON.parse(readFileSync(join(REPO, "dist", "components", "schema.json"), "utf8")));
  assert.equal(served.stderr.trim(), "", "the plugin printed nothing on stderr");
});
