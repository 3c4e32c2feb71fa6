/**
 * How a node's #cloud-config document travels. AWS counts its 16 KB user data limit on the raw bytes,
 * and the sync script, the node's own wgmesh command and their units are more than that as text, so
 * AWS gets the document gzip-compressed (userDataBase64): cloud-init decompresses gzip user data
 * before it reads it (cloudinit.user_data.convert_string). GCP (256 KB per metadata value) and Azure
 * (64 KB of base64 custom data) take the text as it is. The encoder is wg-mesh's own (./gzip.ts),
 * so a VM's user data keeps every byte across Node upgrades.
 */
import { gunzipSync } from "node:zlib";
import type { Cloud } from "../model";
import { gzip } from "./gzip";

/** The document as AWS's userDataBase64 takes it: gzip, then base64. */
export function awsUserDataBase64(document: string): string {
  return gzip(document).toString("base64");
}

/** The bytes AWS counts against its limit. */
export function awsUserDataBytes(document: string): number {
  return gzip(document).length;
}

/** User data bytes as cloud-init reads them: gunzipped when they start with gzip's magic (as cloud-init tests), as text. */
export function gunzippedText(bytes: Buffer): string {
  return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString("utf8");
}

/** The document back from AWS's userDataBase64 (for tests and the policy pack). */
export function documentOfAwsUserData(base64: string): string {
  return gunzippedText(Buffer.from(base64, "base64"));
}

/** The user data as the node's cloud is sent it: base64 of the gzip on AWS, the document elsewhere. */
export function userDataAsSent(cloud: Cloud, document: string): string {
  return cloud === "aws" ? awsUserDataBase64(document) : document;
}
