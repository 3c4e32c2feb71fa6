/**
 * The component package's plugin started the way Pulumi's Node.js language host starts it: run-plugin
 * (resolved from the plugin's own folder, as the host resolves it) on the package folder, from the
 * consumer's working directory; its first stdout line is the port, as the engine reads it; then the
 * schema is asked for over gRPC. Used by the consumer test and the bench.
 */
import { spawn } from "node:child_process";
import * as grpc from "@grpc/grpc-js";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const services = require("@pulumi/pulumi/proto/provider_grpc_pb") as { ResourceProviderClient: new (address: string, credentials: grpc.ChannelCredentials) => ProviderClient };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const messages = require("@pulumi/pulumi/proto/provider_pb") as { GetSchemaRequest: new () => unknown };

interface ProviderClient {
  getSchema(req: unknown, callback: (err: Error | null, resp: { getSchema(): string }) => void): void;
  close(): void;
}

export interface ServedSchema {
  schema: string;
  /** From starting the process to holding the schema. */
  ms: number;
  /** What the plugin wrote on stderr meanwhile. */
  stderr: string;
}

export async function schemaFromPlugin(pluginDir: string, cwd: string, timeoutMs = 120_000): Promise<ServedSchema> {
  const runPlugin = require.resolve("@pulumi/pulumi/cmd/run-plugin", { paths: [pluginDir] });
  const started = performance.now();
  const plugin = spawn(process.execPath, [runPlugin, pluginDir], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  plugin.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  let timer: NodeJS.Timeout | undefined;
  let client: ProviderClient | undefined;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      timer = setTimeout(() => reject(new Error(`the plugin served nothing within ${timeoutMs / 1000} s:\n${stderr}`)), timeoutMs);
      plugin.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const line = /^(\d+)\n/.exec(out);
        if (line) resolve(Number(line[1]));
      });
      plugin.on("exit", (code) => reject(new Error(`the plugin exited (${code}) before serving:\n${stderr}`)));
    });
    const c = new services.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    client = c;
    const schema = await new Promise<string>((resolve, reject) => c.getSchema(new messages.GetSchemaRequest(), (err, resp) => (err ? reject(err) : resolve(resp.getSchema()))));
    return { schema, ms: performance.now() - started, stderr };
  } finally {
    clearTimeout(timer);
    client?.close();
    plugin.kill("SIGKILL");
  }
}
