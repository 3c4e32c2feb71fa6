/** How much user data each cloud takes (infra/limits.ts), and the check every node's document must pass before anything is deployed. */
import { measuredBytes, SIZE_LIMITS, userDataLimit, type SizeLimit } from "../limits";
import type { Cloud } from "../model";

export type UserDataLimit = SizeLimit;

/** Each cloud's entry of infra/limits.ts's table. */
export const USER_DATA_LIMITS: Readonly<Record<Exclude<Cloud, "external">, UserDataLimit>> = {
  aws: SIZE_LIMITS.awsUserData,
  gcp: SIZE_LIMITS.gcpMetadataValue,
  azure: SIZE_LIMITS.azureCustomData,
};

export { userDataLimit };

/** One line when the node's user data is over its cloud's limit: the node, its size and the limit. */
export function userDataProblem(node: string, cloud: Cloud, text: string): string | undefined {
  const limit = userDataLimit(cloud);
  if (!limit) return undefined;
  const size = measuredBytes(text, limit);
  if (size <= limit.bytes) return undefined;
  const how = limit.measure === "base64" ? " base64-encoded" : "";
  return `nodes.${node}: its user data is ${size.toLocaleString("en-US")} bytes${how}, over ${limit.label}: at most ${limit.bytes.toLocaleString("en-US")} bytes; shorten the project, stack or node name`;
}
