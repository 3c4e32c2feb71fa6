/**
 * The policy pack started the way `pulumi preview --policy-pack policy` starts it: the CLI runs
 * @pulumi/pulumi's run-policy-pack on the pack's folder, which compiles it with ts-node, type checks
 * included, under the pack's own tsconfig.json, and then serves the analyzer the engine asks for the
 * pack's policies over gRPC. The pack imports the engine's functions from ../infra, so this is what
 * proves they resolve and compile from there (a missing compiler option once failed it, for the
 * engine's JSON data). No Pulumi CLI is here; everything after the launch is real.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { policies } from "../../policy/policies";
import { REPO } from "../support/pulumi";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const services = require("@pulumi/pulumi/proto/analyzer_grpc_pb") as { AnalyzerClient: new (address: string, credentials: grpc.ChannelCredentials) => AnalyzerClient };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const empty = require("google-protobuf/google/protobuf/empty_pb") as { Empty: new () => unknown };

interface AnalyzerInfo {
  getName(): string;
  getPoliciesList(): { getName(): string; getEnforcementlevel(): number }[];
}
interface AnalyzerClient {
  getAnalyzerInfo(req: unknown, callback: (err: Error | null, resp: AnalyzerInfo) => void): void;
  close(): void;
}

const RUN_POLICY_PACK = join(REPO, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");

test("the pack boots under Pulumi's policy runner from its folder, type checks with the engine it imports, and serves every policy", { timeout: 600_000 }, async (t) => {
  // The engine address is only used once the engine calls back; the runner serves first.
  const pack = spawn(process.execPath, [RUN_POLICY_PACK, "127.0.0.1:1", "."], { cwd: join(REPO, "policy"), stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => pack.kill("SIGKILL"));
  let stderr = "";
  pack.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    pack.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const line = /^(\d+)\n/.exec(out);
      if (line) resolve(Number(line[1]));
    });
    pack.on("exit", (code) => reject(new Error(`the pack exited (${code}) before serving:\n${stderr}`)));
  });
  const client = new services.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  t.after(() => client.close());
  const info = await new Promise<AnalyzerInfo>((resolve, reject) => client.getAnalyzerInfo(new empty.Empty(), (err, resp) => (err ? reject(err) : resolve(resp))));
  assert.equal(info.getName(), "wg-mesh");
  assert.deepEqual(info.getPoliciesList().map((x) => x.getName()), policies.map((x) => x.name));
  assert.equal(stderr.trim(), "", "the pack printed nothing on stderr");
});
