/**
 * A node agent larger than one Azure Key Vault secret (25,000 bytes), for tests of the agent in parts:
 * this tree's agent with one more file, hooks/padding, of lines that do not compress (hex of a sha256
 * chain, so the same bytes every time). Its value is at least `bytes` long (about 13% more), and larger than an Azure secret.
 */
import { createHash } from "node:crypto";
import { SIZE_LIMITS } from "../../infra/limits";
import { AGENT_VERSION, agentFiles, renderAgentBundle, type AgentBundle } from "../../infra/render/agent";

const AZURE_SECRET = SIZE_LIMITS.azureKeyVaultSecret.bytes;

export function largeAgent(version = AGENT_VERSION, bytes = 30_000): AgentBundle {
  const files = agentFiles(version);
  const small = renderAgentBundle(version, files).bytes;
  // A hex character is about 0.73 bytes of the value (gzip keeps ~4.1 of its 8 bits, base64 adds a third).
  const lines: string[] = ["#!/bin/bash", "# padding: a test agent larger than one Azure Key Vault secret"];
  let h = createHash("sha256").update(version).digest("hex");
  for (let chars = 0; chars < ((bytes - small) / 0.73) + 600; chars += 64) {
    h = createHash("sha256").update(h).digest("hex");
    lines.push(`# ${h}`);
  }
  const agent = renderAgentBundle(version, [...files, { name: "hooks/padding", mode: "0755", content: `${lines.join("\n")}\n` }]);
  if (agent.bytes <= AZURE_SECRET || agent.bytes < bytes) throw new Error(`largeAgent: ${agent.bytes} bytes, not the ${bytes} asked for or not larger than an Azure secret`);
  return agent;
}

/** An agent of one Azure Key Vault secret (at most 25,000 bytes): this tree's sync script and command alone. */
export function smallAgent(version = AGENT_VERSION): AgentBundle {
  const agent = renderAgentBundle(version, agentFiles(version).filter((f) => f.name === "wgmesh-sync" || f.name === "wgmesh"));
  if (agent.bytes > AZURE_SECRET) throw new Error(`smallAgent: ${agent.bytes} bytes, more than an Azure secret`);
  return agent;
}
