/**
 * WireGuard keys are X25519: a 32-byte private scalar and its 32-byte public point,
 * both base64. Node's crypto does the curve math, so the public key equals `wg pubkey`.
 */
import { createPrivateKey, createPublicKey, randomBytes } from "node:crypto";

// PKCS#8 wrapper for a raw X25519 private key (RFC 8410): the 32 key bytes follow this header.
const PKCS8_X25519_HEADER = Buffer.from("302e020100300506032b656e04220420", "hex");
const KEY_BYTES = 32;

/**
 * A WireGuard key as `wg genkey` and `wg pubkey` print it: 32 bytes in base64, so 43 characters whose
 * last carries 4 bits and then "=". Unanchored, for scans of text that may hold one.
 */
export const KEY_TEXT = /[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=/;
const WHOLE_KEY = new RegExp(`^${KEY_TEXT.source}$`);

export function isWireGuardKey(text: string): boolean {
  return WHOLE_KEY.test(text);
}

function decodeKey(base64: string, what: string): Buffer {
  if (!isWireGuardKey(base64)) throw new Error(`${what} is not a 32-byte base64 WireGuard key`);
  return Buffer.from(base64, "base64");
}

/** Clamps as `wg genkey` does, so stored keys look exactly like wg's own. */
function clamp(raw: Buffer): Buffer {
  const k = Buffer.from(raw);
  k[0] = (k[0] as number) & 248;
  k[31] = ((k[31] as number) & 127) | 64;
  return k;
}

export function publicKeyFromPrivate(privateKeyBase64: string): string {
  const raw = decodeKey(privateKeyBase64, "private key");
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_HEADER, raw]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(key).export({ format: "der", type: "spki" });
  return spki.subarray(spki.length - KEY_BYTES).toString("base64");
}

/** A private key from 32 bytes of entropy (e.g. RandomBytes' output), clamped like `wg genkey`. */
export function privateKeyFromBytes(bytes: Buffer): string {
  if (bytes.length !== KEY_BYTES) throw new Error(`a private key needs ${KEY_BYTES} bytes, got ${bytes.length}`);
  return clamp(bytes).toString("base64");
}

export function generatePrivateKey(): string {
  return privateKeyFromBytes(randomBytes(KEY_BYTES));
}

export function generatePresharedKey(): string {
  return randomBytes(KEY_BYTES).toString("base64");
}

export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

/**
 * A fresh pair: 32 random bytes clamped like `wg genkey`, and the public key derived from them as
 * for every deployed key. Not generateKeyPairSync: on Node 20, exporting such a key (as JWK)
 * while a garbage collection frees the job that generated it locks the key's mutex twice on one
 * thread, and the process hangs for good (it hung CI; tests/unit/keys.test.ts reproduces it).
 */
export function generateKeyPair(): KeyPair {
  const privateKey = generatePrivateKey();
  return { privateKey, publicKey: publicKeyFromPrivate(privateKey) };
}
