/**
 * How a node's #cloud-config document travels: as it is, on every cloud. It is the bootstrap alone,
 * a few KB, so AWS (16 KB of user data) takes it as `userData` like GCP and Azure take theirs.
 * Stacks deployed before node agents sent AWS the document gzip-compressed (`userDataBase64`), which
 * cloud-init unpacks itself; documentOfAwsUserData still reads that, for their state and for the
 * policy pack.
 */
import { gunzipSync } from "node:zlib";

/** User data bytes as cloud-init reads them: gunzipped when they start with gzip's magic (as cloud-init tests), as text. */
export function gunzippedText(bytes: Buffer): string {
  return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString("utf8");
}

/** The document back from AWS's userData or userDataBase64 (plain, or gzip as older stacks sent it). */
export function documentOfAwsUserData(base64: string): string {
  return gunzippedText(Buffer.from(base64, "base64"));
}
