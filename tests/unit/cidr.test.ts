import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { containsIp, containsPrefix, formatIPv4, formatPrefix, overlaps, parseCidr, parseIPv4, parsePrefix } from "../../infra/cidr";

test("IPv4 parse/format round-trip and rejects malformed input", () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => parseIPv4(formatIPv4(n)) === n));
  for (const bad of ["256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "a.b.c.d", "", "1.2.3.4 5"]) assert.equal(parseIPv4(bad), undefined, bad);
});

test("prefixes: host bits, lengths, containment and overlap", () => {
  assert.equal(parsePrefix("10.50.5.1/24"), undefined, "host bits set is not a prefix");
  assert.deepEqual(parseCidr("10.50.5.1/24"), { ip: parseIPv4("10.50.5.1"), len: 24, hostBitsSet: true });
  assert.equal(parseCidr("10.0.0.0/33"), undefined);
  assert.equal(parseCidr("10.0.0.0/"), undefined);
  assert.equal(formatPrefix(parsePrefix("10.50.5.7") ?? assert.fail()), "10.50.5.7/32");
  const overlay = parsePrefix("10.50.0.0/16") ?? assert.fail();
  const region = parsePrefix("10.50.5.0/24") ?? assert.fail();
  assert.ok(containsPrefix(overlay, region) && !containsPrefix(region, overlay));
  assert.ok(containsIp(region, parseIPv4("10.50.5.255") as number));
  assert.ok(!containsIp(region, parseIPv4("10.50.6.0") as number));
  assert.ok(overlaps(region, overlay) && !overlaps(region, parsePrefix("10.50.4.0/24") ?? assert.fail()));
  assert.ok(containsIp(parsePrefix("0.0.0.0/0") ?? assert.fail(), parseIPv4("255.255.255.255") as number));
});
