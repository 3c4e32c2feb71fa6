/**
 * wg-mesh's own gzip (infra/render/gzip.ts), which packs the node agent into its vault secret: what
 * zlib (and so a node's gzip -d) reads back is the input, for the agent and for any bytes at all; the
 * same input always gives the same bytes; and it packs as tight as zlib's best, give or take.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { crc32 as zlibCrc32, gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { agentFiles, agentSetText, AGENT_VERSION } from "../../infra/render/agent";
import { codeLengths, crc32, gzip } from "../../infra/render/gzip";

test("the node agent round-trips through zlib and shrinks to under a third, within 2% of zlib's best", () => {
  const script = agentSetText(AGENT_VERSION, agentFiles());
  const packed = gzip(script);
  assert.equal(gunzipSync(packed).toString("utf8"), script);
  assert.ok(packed.length < script.length / 3, `${packed.length} of ${script.length} bytes`);
  assert.ok(packed.length < gzipSync(script, { level: 9 }).length * 1.02, `${packed.length} against zlib's ${gzipSync(script, { level: 9 }).length}`);
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

test("Huffman code lengths: never above the limit, and a complete prefix code (Kraft sum 1) whatever the frequencies", () => {
  fc.assert(
    fc.property(fc.array(fc.nat({ max: 1_000_000 }), { minLength: 2, maxLength: 286 }), fc.integer({ min: 7, max: 15 }), (freq, limit) => {
      const used = freq.filter((f) => f > 0).length;
      fc.pre(used <= 2 ** limit);
      const lengths = codeLengths(freq, limit);
      assert.ok(lengths.every((l, i) => (freq[i] === 0 ? l === 0 : l >= 1 && l <= limit)));
      if (used >= 2) assert.equal(lengths.reduce((sum, l) => sum + (l > 0 ? 2 ** -l : 0), 0), 1);
    }),
    { numRuns: 300 },
  );
  // Frequencies of a Fibonacci sequence make the optimal code 24 deep: the limit holds it to 15.
  const fib = [1, 1];
  while (fib.length < 25) fib.push((fib.at(-1) as number) + (fib.at(-2) as number));
  assert.equal(Math.max(...codeLengths(fib, 15)), 15);
  assert.deepEqual(codeLengths(fib, 15), codeLengths(fib, 15), "the same every time");
  // Skewed frequencies (powers and Fibonacci-like runs) make the limit bite; one found by the property once is kept.
  const complete = (freq: number[], limit: number): void => {
    const lengths = codeLengths(freq, limit);
    assert.ok(Math.max(...lengths) <= limit, `${freq} limit ${limit}: ${lengths}`);
    assert.equal(lengths.reduce((sum, l) => sum + (l > 0 ? 2 ** -l : 0), 0), 1, `${freq} limit ${limit}: ${lengths}`);
  };
  complete([1, 1, 1, 1, 3, 5, 8, 13, 21, 34, 55], 7);
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 2, maxLength: 40 }), fc.integer({ min: 7, max: 15 }), (exps, limit) => {
      const freq = exps.map((e) => 2 ** e);
      fc.pre(freq.length <= 2 ** limit);
      complete(freq, limit);
    }),
    { numRuns: 300 },
  );
});
