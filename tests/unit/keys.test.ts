import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { generateKeyPair, generatePresharedKey, generatePrivateKey, isWireGuardKey, privateKeyFromBytes, publicKeyFromPrivate } from "../../infra/keys";

const hasWg = spawnSync("wg", ["--version"]).status === 0;
if (!hasWg) console.error("!!! wg (wireguard-tools) is not installed: the key derivation is NOT checked against `wg pubkey` here");

function wgPubkey(privateKey: string): string {
  return execFileSync("wg", ["pubkey"], { input: `${privateKey}\n` }).toString().trim();
}

test("public keys equal `wg pubkey` for many keys (ours, wg genkey's and raw unclamped bytes)", { skip: !hasWg }, () => {
  const keys: string[] = [];
  for (let i = 0; i < 40; i++) keys.push(generatePrivateKey());
  for (let i = 0; i < 20; i++) keys.push(execFileSync("wg", ["genkey"]).toString().trim());
  // wg clamps inside pubkey too; raw bytes must give the same answer as their clamped form.
  for (let i = 0; i < 20; i++) keys.push(randomBytes(32).toString("base64"));
  for (const k of keys) assert.equal(publicKeyFromPrivate(k), wgPubkey(k), `key ${k.slice(0, 6)}…`);
});

test("RFC 7748 test vector: Alice's key", () => {
  const alicePrivate = Buffer.from("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", "hex").toString("base64");
  const alicePublic = Buffer.from("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", "hex").toString("base64");
  assert.equal(publicKeyFromPrivate(alicePrivate), alicePublic);
});

test("private keys are clamped like wg genkey's", () => {
  for (let i = 0; i < 50; i++) {
    const raw = Buffer.from(privateKeyFromBytes(randomBytes(32)), "base64");
    assert.equal((raw[0] as number) & 7, 0);
    assert.equal((raw[31] as number) & 0xc0, 0x40);
  }
});

test("keys are validated: wrong length or alphabet is refused with a clear message", () => {
  assert.throws(() => publicKeyFromPrivate("not-a-key"), /not a 32-byte base64 WireGuard key/);
  assert.throws(() => privateKeyFromBytes(Buffer.alloc(31)), /needs 32 bytes, got 31/);
  assert.ok(isWireGuardKey(generatePresharedKey()));
  assert.equal(Buffer.from(generatePresharedKey(), "base64").length, 32);
  assert.notEqual(generatePresharedKey(), generatePresharedKey());
});

test("generated pairs: the public key is the private key's, as wg pubkey derives it, and the private key is clamped", () => {
  for (let i = 0; i < 50; i++) {
    const pair = generateKeyPair();
    assert.ok(isWireGuardKey(pair.privateKey) && isWireGuardKey(pair.publicKey));
    assert.equal(publicKeyFromPrivate(pair.privateKey), pair.publicKey);
    if (hasWg && i < 10) assert.equal(wgPubkey(pair.privateKey), pair.publicKey);
    const raw = Buffer.from(pair.privateKey, "base64");
    assert.equal((raw[0] as number) & 7, 0);
    assert.equal((raw[31] as number) & 0xc0, 0x40);
  }
});

test("making keys never hangs: 20,000 pairs while the garbage collector runs all the time", () => {
  // Node 20 hung for good when a key from generateKeyPairSync was exported as JWK during a
  // collection (the generating job's destructor takes the key's mutex a second time). A tiny young
  // generation and a stream of garbage make collections constant: that code hung within 2,000 pairs.
  const script = [
    'const { generateKeyPair } = require("./infra/keys");',
    "const seen = new Set(); const junk = [];",
    "for (let i = 0; i < 20000; i++) {",
    "  const k = generateKeyPair(); seen.add(k.publicKey);",
    '  junk.push("x".repeat(200) + i); if (junk.length > 20000) junk.length = 0;',
    "}",
    "console.log(seen.size);",
  ].join("\n");
  const r = spawnSync(process.execPath, ["--max-semi-space-size=1", "--require", "tsx/cjs", "-e", script], { cwd: join(__dirname, "..", ".."), encoding: "utf8", timeout: 180_000, killSignal: "SIGKILL" });
  assert.equal(r.error, undefined, `key generation did not finish within 180 s (hung?): ${String(r.error)}`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "20000", "20,000 distinct public keys");
});
