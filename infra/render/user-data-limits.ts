/**
 * How much user data each cloud takes, and the check every node's document must pass before anything
 * is deployed. Kept apart so it can join the size limits of the vaults in one table (issue 12's
 * infra/limits.ts has the same entries, in the same shape).
 */
import type { Cloud } from "../model";

export interface UserDataLimit {
  /** How messages name it. */
  label: string;
  bytes: number;
  /** What is measured: the document as it is, or its base64 form (Azure custom data). */
  measure: "raw" | "base64";
  source: string;
}

export const USER_DATA_LIMITS: Readonly<Record<Exclude<Cloud, "external">, UserDataLimit>> = {
  aws: {
    label: "AWS user data (16 KB)",
    bytes: 16_384,
    measure: "raw",
    source: "Amazon EC2 user guide: user data is limited to 16 KB in raw form, before base64",
  },
  gcp: {
    label: "a GCP metadata value (256 KB)",
    bytes: 262_144,
    measure: "raw",
    source: "Compute Engine metadata: each value at most 256 KB",
  },
  azure: {
    label: "Azure custom data (64 KB, base64)",
    bytes: 65_536,
    measure: "base64",
    source: "Azure VM custom data: at most 64 KB, base64-encoded",
  },
};

export function userDataLimit(cloud: Cloud): UserDataLimit | undefined {
  return cloud === "external" ? undefined : USER_DATA_LIMITS[cloud];
}

/** The size the cloud's limit counts. */
export function userDataBytes(text: string, limit: UserDataLimit): number {
  const raw = Buffer.byteLength(text, "utf8");
  return limit.measure === "base64" ? 4 * Math.ceil(raw / 3) : raw;
}

/** One line when the node's user data is over its cloud's limit: the node, its size and the limit. */
export function userDataProblem(node: string, cloud: Cloud, text: string): string | undefined {
  const limit = userDataLimit(cloud);
  if (!limit) return undefined;
  const size = userDataBytes(text, limit);
  if (size <= limit.bytes) return undefined;
  const how = limit.measure === "base64" ? " base64-encoded" : "";
  return `nodes.${node}: its user data is ${size.toLocaleString("en-US")} bytes${how}, over ${limit.label}: at most ${limit.bytes.toLocaleString("en-US")} bytes; shorten the project, stack or node name`;
}
