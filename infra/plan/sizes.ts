/**
 * Every config against the limit of the vault that will hold it, at plan time: rendered with
 * stand-ins as long as the real values (44-character keys, the longest IPv4 address for a VM
 * not yet deployed), so the size measured is the size deployed.
 */
import { renderFailover } from "../failover/format";
import { formatBytes, vaultLimit, type SizeLimit } from "../limits";
import { userDataProblem } from "../render/user-data-limits";
import type { ConfigIssue, MeshPlan, MeshSpec } from "../model";
import { renderCloudInit } from "../render/cloudinit";
import { renderNodeConfig, type RenderKeys } from "../render/wgquick";
import { vaultLocatorFor } from "../vault";

const KEY_STAND_IN = `${"A".repeat(43)}=`;
const LONGEST_IPV4 = "255.255.255.255";

export interface ConfigSize {
  node: string;
  bytes: number;
  limit?: SizeLimit;
}

/** Each node's wg0.conf size as deployed, with its vault's limit. */
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
  return plan.nodes.map((node) => {
    const limit = vaultLimit(node.cloud);
    // The failover table rides in the same vault secret as wg0.conf.
    const failover = renderFailover(node.name, node.failover, publicKeys) ?? "";
    const bytes = Buffer.byteLength(renderNodeConfig(plan, node.name, keys), "utf8") + Buffer.byteLength(failover, "utf8");
    return { node: node.name, bytes, ...(limit ? { limit } : {}) };
  });
}

export function oversizeMessage(what: string, bytes: number, limit: SizeLimit, fix: string): string {
  return `${what} is ${formatBytes(bytes)} bytes, above the ${formatBytes(limit.bytes)} bytes of ${limit.label}; ${fix}`;
}

export function configSizeIssues(plan: MeshPlan): ConfigIssue[] {
  const fix =
    plan.spec.topology === "auto"
      ? "lower maxPeers, or split the node's region so its AllowedIPs aggregate"
      : "use topology: auto (peers per node bounded by maxPeers) or fewer nodes per hub";
  return configSizes(plan)
    .filter((s) => s.limit !== undefined && s.bytes > s.limit.bytes)
    .map((s) => ({ path: `nodes.${s.node}`, message: oversizeMessage("its wg0.conf", s.bytes, s.limit as SizeLimit, fix) }));
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
