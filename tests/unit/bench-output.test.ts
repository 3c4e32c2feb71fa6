/** The bench's JSON file: replaced only when the bench wrote it, never half-written. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OutputRefused, WRITTEN_BY, writeBenchJson } from "../../bench/output";

test("bench output: written whole, replaces its own file, refuses anyone else's", () => {
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-bench-out-"));
  try {
    const file = join(dir, "sub", "bench.json");
    writeBenchJson(file, { set: "ci", n: 1 });
    assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), { writtenBy: WRITTEN_BY, set: "ci", n: 1 });
    writeBenchJson(file, { set: "ci", n: 2 });
    assert.equal((JSON.parse(readFileSync(file, "utf8")) as { n: number }).n, 2);
    assert.deepEqual(readdirSync(join(dir, "sub")), ["bench.json"], "no temporary file left");
    const foreign = join(dir, "notes.json");
    writeFileSync(foreign, '{"mine": true}');
    assert.throws(() => writeBenchJson(foreign, { set: "ci" }), (e: unknown) => e instanceof OutputRefused && /the file exists and the bench did not write it/.test(e.message));
    assert.equal(readFileSync(foreign, "utf8"), '{"mine": true}');
    const text = join(dir, "README");
    writeFileSync(text, "not json");
    assert.throws(() => writeBenchJson(text, {}), OutputRefused);
    assert.equal(readFileSync(text, "utf8"), "not json");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
