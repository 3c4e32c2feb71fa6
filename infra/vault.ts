/**
 * Where a node's config and its node agent live and how the node finds them: two secrets of the
 * node's own vault (docs/node-agent.md says why). Names are derived from project, stack and node
 * alone, so the bootstrap in the user data is known at preview time and never changes when the mesh
 * or the agent does.
 */
import { createHash } from "node:crypto";
import { agentPartOf } from "./render/agent-parts";

/** Each kind names two entries: the config (wg0.conf with the files riding with it) and the node agent. */
export type VaultLocator =
  | { kind: "aws-secretsmanager"; region: string; secretName: string; agentSecretName: string }
  | { kind: "gcp-secretmanager"; project: string; secretId: string; agentSecretId: string }
  /** The vault itself is named by the VM's tag AZURE_VAULT_TAG: its name is random, chosen at deploy. */
  | { kind: "azure-keyvault"; secretName: string; agentSecretName: string }
  /** Lab and tests: local files stand in for the vault's two secrets. */
  | { kind: "file"; path: string; agentPath: string };

export interface VaultNaming {
  project: string;
  stack: string;
  node: string;
}

export function awsSecretName(n: VaultNaming): string {
  return `${n.project}/${n.stack}/${n.node}/wg0.conf`;
}

export function awsAgentSecretName(n: VaultNaming): string {
  return `${n.project}/${n.stack}/${n.node}/agent`;
}

/**
 * The node path of a secret name the AWS host makes (`<project>/<stack>/<node>`), and which it is: the
 * config, or part `part` of the node agent (infra/render/agent-parts.ts; the config is part 1 of
 * itself); undefined for any other name. The policy pack holds a node's read grant to these.
 */
export function awsSecretOf(name: string): { node: string; which: "config" | "agent"; part: number } | undefined {
  const m = /^(.+\/.+\/[^/]+)\/([^/]+)$/.exec(name);
  if (!m) return undefined;
  const naming = { project: "p", stack: "s", node: "n" };
  const leaf = (full: string): string => full.slice(full.lastIndexOf("/") + 1);
  const node = m[1] as string;
  if (m[2] === leaf(awsSecretName(naming))) return { node, which: "config", part: 1 };
  const part = agentPartOf(m[2] as string, leaf(awsAgentSecretName(naming)));
  return part === undefined ? undefined : { node, which: "agent", part };
}

export function gcpSecretId(n: VaultNaming): string {
  // Secret Manager ids: letters, digits, '-' and '_', at most 255.
  return `${n.project}-${n.stack}-${n.node}-wg0`.replace(/[^A-Za-z0-9_-]/g, "-");
}

export function gcpAgentSecretId(n: VaultNaming): string {
  return `${n.project}-${n.stack}-${n.node}-agent`.replace(/[^A-Za-z0-9_-]/g, "-");
}

/**
 * Key Vault names are global across Azure, soft-deleted vaults included, and 3-24 of [a-z0-9-]
 * starting with a letter. A name made from project, stack and node alone is taken by the first
 * deployment anywhere that uses the same three (the README's example stack, say) and, after a
 * destroy, by its own soft-deleted vault for 7 days. So the name ends in random characters chosen once
 * per deployed node (`suffix`, 8 of [a-z0-9]), and the VM learns it from its tag.
 */
export function azureVaultName(node: string, suffix: string): string {
  const stem = node.toLowerCase().replace(/[^a-z0-9]/g, "").slice(0, 11) || "node";
  return `wgm-${stem}-${suffix}`;
}

export const AZURE_VAULT_SUFFIX_LENGTH = 8;
/** The VM tag that names the node's Key Vault; the sync unit reads it from the instance metadata. */
export const AZURE_VAULT_TAG = "wg-mesh-vault";
export const AZURE_SECRET_NAME = "wg0-conf";
export const AZURE_AGENT_SECRET_NAME = "wgmesh-agent";

/** A lab or test node's vault: the config in `path`, the agent beside it. */
export function fileVault(path: string, agentPath = `${path}.agent`): VaultLocator {
  return { kind: "file", path, agentPath };
}

/** The vault locator of a cloud node; undefined for external nodes, which have no vault. */
export function vaultLocatorFor(
  node: { name: string; cloud: string; aws?: { region: string }; gcp?: { project: string } },
  project: string,
  stack: string,
): VaultLocator | undefined {
  const naming = { project, stack, node: node.name };
  switch (node.cloud) {
    case "aws":
      return { kind: "aws-secretsmanager", region: (node.aws as { region: string }).region, secretName: awsSecretName(naming), agentSecretName: awsAgentSecretName(naming) };
    case "gcp":
      return { kind: "gcp-secretmanager", project: (node.gcp as { project: string }).project, secretId: gcpSecretId(naming), agentSecretId: gcpAgentSecretId(naming) };
    case "azure":
      return { kind: "azure-keyvault", secretName: AZURE_SECRET_NAME, agentSecretName: AZURE_AGENT_SECRET_NAME };
    default:
      return undefined;
  }
}

/**
 * The GCP service account a node reads its secret with: 6-30 of [a-z0-9-], starting with a
 * letter, unique per project, so a short stable hash of project, stack and node follows the name.
 */
export function gcpServiceAccountId(n: VaultNaming): string {
  const hash = createHash("sha256").update(`${n.project}/${n.stack}/${n.node}`).digest("hex").slice(0, 6);
  const stem = n.node.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/^-+|-+$/g, "").slice(0, 19) || "node";
  return `wgm-${stem}-${hash}`.replace(/--+/g, "-");
}
