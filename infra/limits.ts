/**
 * Size limits of the places a node's files go, in one table for everything that checks them.
 * Each entry names its source; `bytes` is what wg-mesh enforces, read conservatively where a
 * document's "KB" is ambiguous.
 */
import type { Cloud } from "./model";

export interface SizeLimit {
  /** How messages name it, e.g. "an Azure Key Vault secret (25 KB)". */
  label: string;
  bytes: number;
  /** What is measured: the raw text, or its base64 form (Azure custom data). */
  measure: "raw" | "base64";
  source: string;
}

export const SIZE_LIMITS = {
  azureKeyVaultSecret: {
    label: "an Azure Key Vault secret (25 KB)",
    bytes: 25_000,
    measure: "raw",
    source: "Azure Key Vault, About secrets: 'a maximum size of 25 KB each' (read as 25,000 bytes)",
  },
  awsSecretsManagerSecret: {
    label: "an AWS Secrets Manager secret (64 KB)",
    bytes: 65_536,
    measure: "raw",
    source: "AWS Secrets Manager API, CreateSecret/PutSecretValue: SecretString at most 65,536 bytes",
  },
  gcpSecretManagerSecret: {
    label: "a GCP Secret Manager secret (64 KiB)",
    bytes: 65_536,
    measure: "raw",
    source: "Google Cloud Secret Manager quotas: a secret version's payload is at most 64 KiB",
  },
  awsUserData: {
    label: "AWS user data (16 KB)",
    bytes: 16_384,
    measure: "raw",
    source: "Amazon EC2 user guide: user data is limited to 16 KB in raw form, before base64",
  },
  azureCustomData: {
    label: "Azure custom data (64 KB, base64)",
    bytes: 65_536,
    measure: "base64",
    source: "Azure VM custom data: at most 64 KB, base64-encoded",
  },
  bootstrapUserData: {
    label: "wg-mesh's budget for a node's user data, the bootstrap (4 KB)",
    bytes: 4_096,
    measure: "raw",
    source: "issue 20: user data is a bootstrap of at most 4 KB before compression on every cloud, so it never has to change (docs/node-agent.md)",
  },
  gcpMetadataValue: {
    label: "a GCP metadata value (256 KB)",
    bytes: 262_144,
    measure: "raw",
    source: "Compute Engine metadata: each value at most 256 KB",
  },
} as const satisfies Record<string, SizeLimit>;

/** Where a node's wg0.conf is kept; external nodes get theirs as a stack output, which has no such limit. */
export function vaultLimit(cloud: Cloud): SizeLimit | undefined {
  switch (cloud) {
    case "aws":
      return SIZE_LIMITS.awsSecretsManagerSecret;
    case "gcp":
      return SIZE_LIMITS.gcpSecretManagerSecret;
    case "azure":
      return SIZE_LIMITS.azureKeyVaultSecret;
    default:
      return undefined;
  }
}

export function userDataLimit(cloud: Cloud): SizeLimit | undefined {
  switch (cloud) {
    case "aws":
      return SIZE_LIMITS.awsUserData;
    case "gcp":
      return SIZE_LIMITS.gcpMetadataValue;
    case "azure":
      return SIZE_LIMITS.azureCustomData;
    default:
      return undefined;
  }
}

/** The size a limit counts, in bytes. */
export function measuredBytes(text: string, limit: SizeLimit): number {
  const raw = Buffer.byteLength(text, "utf8");
  return limit.measure === "base64" ? 4 * Math.ceil(raw / 3) : raw;
}

export function formatBytes(n: number): string {
  return n.toLocaleString("en-US");
}
