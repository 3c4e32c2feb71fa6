/**
 * The component package started the way `pulumi package add` starts it: Pulumi's Node.js language host
 * runs @pulumi/pulumi's run-plugin on this folder, from the consumer's working directory (here an empty
 * one, as a C# project would be: no tsconfig.json, so Pulumi's own TypeScript defaults), and the CLI asks
 * the plugin for its schema over gRPC. No Pulumi CLI is here; everything after the launch is real.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { REPO } from "../support/pulumi";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const services = require("@pulumi/pulumi/proto/provider_grpc_pb") as { ResourceProviderClient: new (address: string, credentials: grpc.ChannelCredentials) => ProviderClient };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const messages = require("@pulumi/pulumi/proto/provider_pb") as { GetSchemaRequest: new () => unknown };

interface ProviderClient {
  getSchema(req: unknown, callback: (err: Error | null, resp: { getSchema(): string }) => void): void;
  close(): void;
}

const RUN_PLUGIN = join(REPO, "node_modules", "@pulumi", "pulumi", "cmd", "run-plugin");

test("the plugin boots under Pulumi's launcher from a consumer's folder and serves the schema of Mesh, Hub, Pop and Backend", { timeout: 600_000 }, async (t) => {
  const consumer = mkdtempSync(join(tmpdir(), "wgmesh-consumer-"));
  const plugin = spawn(process.execPath, [RUN_PLUGIN, REPO], { cwd: consumer, stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => {
    plugin.kill("SIGKILL");
    rmSync(consumer, { recursive: true, force: true });
  });
  let stderr = "";
  plugin.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  // The plugin's first line on stdout is the port it serves on, as the engine reads it.
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    plugin.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const line = /^(\d+)\n/.exec(out);
      if (line) resolve(Number(line[1]));
    });
    plugin.on("exit", (code) => reject(new Error(`the plugin exited (${code}) before serving:\n${stderr}`)));
  });
  const client = new services.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const schema = await new Promise<string>((resolve, reject) => client.getSchema(new messages.GetSchemaRequest(), (err, resp) => (err ? reject(err) : resolve(resp.getSchema()))));
  const parsed = JSON.parse(schema) as { name: string; resources: Record<string, unknown> };
  assert.equal(parsed.name, "wg-mesh");
  assert.deepEqual(Object.keys(parsed.resources).sort(), ["wg-mesh:index:Backend", "wg-mesh:index:Hub", "wg-mesh:index:Mesh", "wg-mesh:index:Pop"]);
  assert.equal(stderr.trim(), "", "the plugin printed nothing on stderr");
});
