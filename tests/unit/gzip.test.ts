/**
 * wg-mesh's own gzip (infra/render/gzip.ts): what zlib reads back is the input, for texts like the sync
 * script and for any bytes at all; the same input always gives the same bytes. (cloud-init's own
 * decoder reads it too: tests/unit/delivery-tools.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32 as zlibCrc32, gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { crc32, gzip } from "../../infra/render/gzip";
import { renderSyncScript } from "../../infra/render/sync-script";

test("the sync script round-trips through zlib and shrinks to well under half", () => {
  const script = renderSyncScript({ node: "ireland", vault: { kind: "aws-secretsmanager", region: "eu-west-1", secretName: "wg-mesh/prod/ireland/wg0.conf" } });
  const packed = gzip(script);
  assert.equal(gunzipSync(packed).toString("utf8"), script);
  assert.ok(packed.length < script.length * 0.5, `${packed.length} of ${script.length} bytes`);
  assert.ok(packed.length < gzipSync(script, { level: 9 }).length * 1.25, "within a quarter of zlib's best");
  assert.deepEqual(gzip(script), packed, "the same bytes every time");
  assert.deepEqual([...packed.subarray(0, 10)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff], "no name, no timestamp");
});

test("any bytes round-trip, runs and repeats included; the CRC is zlib's", () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.string({ maxLength: 3000 }).map((t) => Buffer.from(t.repeat(3)))), (data) => {
      const bytes = Buffer.from(data);
      assert.deepEqual(gunzipSync(gzip(bytes)), bytes);
    }),
    { numRuns: 200 },
  );
  for (const data of [Buffer.alloc(0), Buffer.alloc(70_000, 7), Buffer.from("é".repeat(40_000))]) {
    assert.deepEqual(gunzipSync(gzip(data)), data);
    if (typeof zlibCrc32 === "function") assert.equal(crc32(data), zlibCrc32(data));
  }
});
