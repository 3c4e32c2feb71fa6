/**
 * WireGuard keys are X25519: a 32-byte private scalar and its 32-byte public point,
 * both base64. Node's crypto does the curve math, so the public key equals `wg pubkey`.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";

// PKCS#8 wrapper for a raw X25519 private key (RFC 8410): the 32 key bytes follow this header.
const PKCS8_X25519_HEADER = Buffer.from("302e020100300506032b656e04220420", "hex");
const KEY_BYTES = 32;

export function isWireGuardKey(text: string): boolean {
  return /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw480]=$/.test(text);
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
 * A fresh pair from the crypto library's own generator: ten times faster than importing a
 * private key to derive its public one, which matters for throw-away keys of a thousand nodes.
 * The private key is clamped like `wg genkey`'s; X25519 clamps anyway, so the public key holds.
 */
export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  const d = Buffer.from((privateKey.export({ format: "jwk" }) as { d: string }).d, "base64url");
  const x = Buffer.from((publicKey.export({ format: "jwk" }) as { x: string }).x, "base64url");
  return { privateKey: privateKeyFromBytes(d), publicKey: x.toString("base64") };
}
