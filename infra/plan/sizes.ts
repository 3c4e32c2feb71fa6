/**
 * What goes into each node's vault against the limit of that vault, at plan time: the node's entry
 * (wg0.conf, the files riding with it, the bootstrap's copy and the lines that seal them:
 * infra/render/payload.ts) and the node agent. Rendered with stand-ins as long as the real values
 * (44-character keys, the longest IPv4 address for a VM not yet deployed, and for the bootstrap's
 * copy the longest project and stack names Pulumi allows), so the size measured is never below the
 * size deployed.
 */
import { formatBytes, vaultLimit, type SizeLimit } from "../limits";
import { userDataProblem } from "../render/user-data-limits";
import type { ConfigIssue, MeshPlan, MeshSpec } from "../model";
import { deployedAgent } from "../render/agent";
import { AGENT_MAX_PARTS, agentDelivery, agentPartCount } from "../render/agent-parts";
import { renderCloudInit, shippedBootstrap } from "../render/cloudinit";
import { nodeFiles } from "../render/node-files";
import { renderPayload } from "../render/payload";
import { renderNodeConfig, type RenderKeys } from "../render/wgquick";
import { vaultLocatorFor } from "../vault";

const KEY_STAND_IN = `${"A".repeat(43)}=`;
const LONGEST_IPV4 = "255.255.255.255";
/** Pulumi takes project and stack names of up to 100 characters; the bootstrap's copy names its vault's secrets with them. */
const LONGEST_PROJECT = "p".repeat(100);
const LONGEST_STACK = "s".repeat(100);
const LONGEST_AWS_REGION = "ap-southeast-4";
const LONGEST_GCP_PROJECT = `p${"r".repeat(28)}j`;

export interface ConfigSize {
  node: string;
  /** What the vault holds for the node's config: the whole entry (for an external node, its wg0.conf). */
  bytes: number;
  /** Of which wg0.conf. */
  config: number;
  /** Of which the files riding with it. */
  files: number;
  limit?: SizeLimit;
}

/** Each node's vault entry (and wg0.conf) size as deployed, with its vault's limit. */
export function configSizes(plan: MeshPlan): ConfigSize[] {
  const publicKeys: Record<string, string> = {};
  const endpoints: Record<string, string> = {};
  for (const node of plan.spec.nodes) {
    publicKeys[node.name] = KEY_STAND_IN;
    if (node.external?.endpoint) endpoints[node.name] = node.external.endpoint;
    else if (node.cloud !== "external") endpoints[node.name] = LONGEST_IPV4;
  }
  const keys: RenderKeys = {
    privateKey: KEY_STAND_IN,
    publicKeys,
    endpoints,
    ...(plan.spec.presharedKeys ? { presharedKeys: Object.fromEntries(plan.links.map((l) => [l.id, KEY_STAND_IN])) } : {}),
  };
  const agent = deployedAgent();
  return plan.nodes.map((node) => {
    const limit = vaultLimit(node.cloud);
    const config = renderNodeConfig(plan, node.name, keys);
    const files = nodeFiles(plan, node.name, publicKeys);
    const filesBytes = Object.values(files).reduce((sum, f) => sum + Buffer.byteLength(f, "utf8"), 0);
    // The longest names each cloud takes, not the node's placement, and a stand-in of the node's name as
    // long as it (the config checker judges the name itself): what is measured is an upper bound.
    const name = "n".repeat(node.name.length);
    const vault = vaultLocatorFor({ name, cloud: node.cloud, aws: { region: LONGEST_AWS_REGION }, gcp: { project: LONGEST_GCP_PROJECT } }, LONGEST_PROJECT, LONGEST_STACK);
    const entry = vault ? renderPayload({ node: name, config, files, agent: agentDelivery(agent, node.cloud).ref, bootstrap: shippedBootstrap({ node: name, vault }) }) : config;
    return { node: node.name, bytes: Buffer.byteLength(entry, "utf8"), config: Buffer.byteLength(config, "utf8"), files: filesBytes, ...(limit ? { limit } : {}) };
  });
}

/**
 * The node agent against the vault of every cloud the mesh uses: it goes in as many secrets as the
 * vault needs (infra/render/agent-parts.ts), at most AGENT_MAX_PARTS; one line for a cloud that would need more.
 */
export function agentSizeIssues(plan: MeshPlan, agent = deployedAgent()): ConfigIssue[] {
  const clouds = new Set(plan.nodes.map((n) => n.cloud));
  const issues: ConfigIssue[] = [];
  for (const cloud of clouds) {
    const limit = vaultLimit(cloud);
    const parts = agentPartCount(cloud, agent.bytes);
    if (limit && parts > AGENT_MAX_PARTS) {
      issues.push({
        path: "agent",
        message: `node agent ${agent.version} is ${formatBytes(agent.bytes)} bytes, ${parts} parts of ${limit.label}, above wg-mesh's ${AGENT_MAX_PARTS} parts (${formatBytes(AGENT_MAX_PARTS * limit.bytes)} bytes); use a release whose agent fits`,
      });
    }
  }
  return issues;
}

export function oversizeMessage(what: string, bytes: number, limit: SizeLimit, fix: string): string {
  return `${what} is ${formatBytes(bytes)} bytes, above the ${formatBytes(limit.bytes)} bytes of ${limit.label}; ${fix}`;
}

export function configSizeIssues(plan: MeshPlan): ConfigIssue[] {
  const fix =
    plan.spec.topology === "auto"
      ? "lower maxPeers, or split the node's region so its AllowedIPs aggregate"
      : "use topology: auto (peers per node bounded by maxPeers) or fewer nodes per hub";
  return [
    ...configSizes(plan)
      .filter((s) => s.limit !== undefined && s.bytes > s.limit.bytes)
      .map((s) => ({
        path: `nodes.${s.node}`,
        message: oversizeMessage(`its vault entry (wg0.conf ${formatBytes(s.config)} bytes${s.files > 0 ? `, files ${formatBytes(s.files)} bytes` : ""}, and wg-mesh's lines)`, s.bytes, s.limit as SizeLimit, s.files > s.config ? "ship fewer or smaller files with it" : fix),
      })),
    ...agentSizeIssues(plan),
  ];
}

/** Each cloud node's user data (cloud-init) against its cloud's limit; it depends on project and stack through the vault names. */
export function userDataIssues(spec: MeshSpec, project: string, stack: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const node of spec.nodes) {
    const vault = vaultLocatorFor(node, project, stack);
    if (!vault) continue;
    const problem = userDataProblem(node.name, node.cloud, renderCloudInit({ node: node.name, vault }));
    // userDataProblem's line starts with the node's path, which the issue carries on its own.
    if (problem) issues.push({ path: `nodes.${node.name}`, message: problem.replace(/^nodes\.[^:]+: /, "") });
  }
  return issues;
}
