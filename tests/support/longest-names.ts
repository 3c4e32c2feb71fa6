/**
 * The longest names a node's cloud resources and vault can be given: Pulumi allows project and stack
 * names of 100 characters, a node name is at most 24, a GCP project id 30, and ap-southeast-4 is the
 * longest AWS region name. Tests of sizes and naming rules render with these.
 */
import type { vaultLocatorFor } from "../../infra/vault";

/** A node as vaultLocatorFor takes it. */
type VaultPlacement = Parameters<typeof vaultLocatorFor>[0];

export const LONGEST_PROJECT = `p${"r".repeat(98)}j`;
export const LONGEST_STACK = `s${"t".repeat(98)}k`;
export const LONGEST_NODE = `n${"o".repeat(22)}d`;

/** The longest-named node on each cloud with a vault. */
export const LONGEST_PLACEMENTS: readonly VaultPlacement[] = [
  { name: LONGEST_NODE, cloud: "aws", aws: { region: "ap-southeast-4" } },
  { name: LONGEST_NODE, cloud: "gcp", gcp: { project: `a${"b".repeat(28)}c` } },
  { name: LONGEST_NODE, cloud: "azure" },
];
