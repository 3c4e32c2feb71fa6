/**
 * How much user data each cloud takes (infra/limits.ts), and the check every node's document must pass
 * before anything is deployed: wg-mesh's own budget for the bootstrap (4 KB, below every cloud's limit),
 * and, as sent, each cloud's limit.
 */
import { formatBytes, measuredBytes, SIZE_LIMITS, userDataLimit, type SizeLimit } from "../limits";
import type { Cloud } from "../model";

export type UserDataLimit = SizeLimit;

/** Each cloud's entry of infra/limits.ts's table. */
export const USER_DATA_LIMITS: Readonly<Record<Exclude<Cloud, "external">, UserDataLimit>> = {
  aws: SIZE_LIMITS.awsUserData,
  gcp: SIZE_LIMITS.gcpMetadataValue,
  azure: SIZE_LIMITS.azureCustomData,
};

export { userDataLimit };

/** The bytes a cloud counts against its limit for a document, sent as it is. */
export function countedUserDataBytes(cloud: Cloud, document: string): number | undefined {
  const limit = userDataLimit(cloud);
  return limit ? measuredBytes(document, limit) : undefined;
}

/** One line when the node's user data is over wg-mesh's bootstrap budget or its cloud's limit: the node, its size and the limit. */
export function userDataProblem(node: string, cloud: Cloud, document: string): string | undefined {
  if (!userDataLimit(cloud)) return undefined;
  const budget = SIZE_LIMITS.bootstrapUserData;
  const bytes = Buffer.byteLength(document, "utf8");
  if (bytes > budget.bytes) {
    return `nodes.${node}: its user data is ${formatBytes(bytes)} bytes, over ${budget.label}: at most ${formatBytes(budget.bytes)} bytes; shorten the project, stack or node name`;
  }
  return userDataSizeProblem(node, cloud, countedUserDataBytes(cloud, document) as number);
}

/** The same for user data as it was sent, `size` being what the cloud counts. */
export function userDataSizeProblem(node: string, cloud: Cloud, size: number, how?: string): string | undefined {
  const limit = userDataLimit(cloud);
  if (!limit || size <= limit.bytes) return undefined;
  how ??= limit.measure === "base64" ? " base64-encoded" : "";
  return `nodes.${node}: its user data is ${size.toLocaleString("en-US")} bytes${how}, over ${limit.label}: at most ${limit.bytes.toLocaleString("en-US")} bytes; shorten the project, stack or node name`;
}
