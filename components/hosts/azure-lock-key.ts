/**
 * Azure will not create a Linux VM without an admin password or SSH key, and accepts only
 * RSA keys. wg-mesh keeps neither in config: admins add their own key when they need one
 * (`az vm user update --ssh-key-value`, as the SSH hint says), much as EC2 Instance Connect
 * and OS Login do on the other clouds. Until then the account holds this key: a 2048-bit
 * modulus expanded from a fixed label by SHA-512, so its factors (and so any private key)
 * are unknown to everyone, and the value is the same on every run, so it never forces a new VM.
 */
import { createHash } from "node:crypto";

const LABEL = "wg-mesh: this RSA modulus comes from a hash; nobody holds its private key";
const MODULUS_BYTES = 256;

function sshString(bytes: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

/** SSH mpint: big-endian, with a zero byte in front when the top bit is set (it is not negative). */
function mpint(bytes: Buffer): Buffer {
  return sshString((bytes[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function modulus(): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 64 < MODULUS_BYTES; i++) blocks.push(createHash("sha512").update(`${LABEL}\u0000${i}`).digest());
  const n = Buffer.concat(blocks).subarray(0, MODULUS_BYTES);
  n[0] = (n[0] as number) | 0x80; // exactly 2048 bits
  n[MODULUS_BYTES - 1] = (n[MODULUS_BYTES - 1] as number) | 1; // odd, as an RSA modulus is
  return n;
}

export const AZURE_LOCK_KEY = `ssh-rsa ${Buffer.concat([sshString(Buffer.from("ssh-rsa")), mpint(Buffer.from([0x01, 0x00, 0x01])), mpint(modulus())]).toString("base64")} wg-mesh-no-login`;
