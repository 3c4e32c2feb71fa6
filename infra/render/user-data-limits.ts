/** How much user data each cloud takes (infra/limits.ts), and the check every node's document must pass before anything is deployed. */
import { measuredBytes, SIZE_LIMITS, userDataLimit, type SizeLimit } from "../limits";
import type { Cloud } from "../model";
import { awsUserDataBytes } from "./user-data";

export type UserDataLimit = SizeLimit;

/** Each cloud's entry of infra/limits.ts's table. */
export const USER_DATA_LIMITS: Readonly<Record<Exclude<Cloud, "external">, UserDataLimit>> = {
  aws: SIZE_LIMITS.awsUserData,
  gcp: SIZE_LIMITS.gcpMetadataValue,
  azure: SIZE_LIMITS.azureCustomData,
};

export { userDataLimit };

/** The bytes a cloud counts against its limit for a document. */
export function countedUserDataBytes(cloud: Cloud, document: string): number | undefined {
  const limit = userDataLimit(cloud);
  if (!limit) return undefined;
  // AWS counts the raw bytes it is sent, which are the document gzip-compressed.
  return cloud === "aws" ? awsUserDataBytes(document) : measuredBytes(document, limit);
}

/** One line when the node's user data is over its cloud's limit: the node, its size and the limit. */
export function userDataProblem(node: string, cloud: Cloud, document: string): string | undefined {
  const size = countedUserDataBytes(cloud, document);
  return size === undefined ? undefined : userDataSizeProblem(node, cloud, size, cloud === "aws" ? " gzip-compressed" : undefined);
}

/** The same for user data as it was sent, `size` being what the cloud counts and `how` what was measured (" gzip-compressed"). */
export function userDataSizeProblem(node: string, cloud: Cloud, size: number, how?: string): string | undefined {
  const limit = userDataLimit(cloud);
  if (!limit || size <= limit.bytes) return undefined;
  how ??= limit.measure === "base64" ? " base64-encoded" : "";
  return `nodes.${node}: its user data is ${size.toLocaleString("en-US")} bytes${how}, over ${limit.label}: at most ${limit.bytes.toLocaleString("en-US")} bytes; shorten the project, stack or node name`;
}
