/**
 * A stack file that is not good YAML: one syntax error is one line, at the line and column of
 * what is wrong, in the project's words (never the parser's); what is not text, not a map or
 * empty is one line too; and nothing the YAML library or Node would print reaches the user.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadStackConfig } from "../../infra/config";
import { MeshConfigError } from "../../infra/model";

const REPO = join(__dirname, "..", "..");
const PROD = readFileSync(join(REPO, "Pulumi.prod.yaml"), "utf8");
const PROD_LINES = PROD.split("\n");
const FILE = "Pulumi.x.yaml";

/** The parser's own phrases: none may reach a message. */
const PARSER_WORDS = /implicit key|compact mapping|YAML stream|map-value-ind|Unexpected (scalar|token)|Tabs are not allowed|Nested mappings|flow (sequence|map|collection)|at node end|DUPLICATE_KEY|Map keys must be unique/i;

function problems(input: string | Uint8Array): string[] {
  try {
    loadStackConfig(input, FILE);
  } catch (err) {
    if (err instanceof MeshConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

function one(input: string | Uint8Array): string {
  const found = problems(input);
  assert.equal(found.length, 1, found.join("\n"));
  assert.doesNotMatch(found[0] as string, PARSER_WORDS);
  return found[0] as string;
}

/** prod with line `n` (1-based, the first line starting with `starts`) changed. */
function prodWith(starts: string, change: (line: string) => string): { text: string; line: number } {
  const i = PROD_LINES.findIndex((l) => l.trim().startsWith(starts));
  assert.ok(i >= 0, starts);
  const lines = [...PROD_LINES];
  lines[i] = change(lines[i] as string);
  return { text: lines.join("\n"), line: i + 1 };
}

test("a tab-indented file is one line at its first tab, and invents no key given twice", () => {
  const tabbed = PROD.replace(/^( +)/gm, (spaces) => "\t".repeat(spaces.length / 2));
  const first = PROD_LINES.findIndex((l) => l.startsWith(" ")) + 1;
  assert.match(one(tabbed), new RegExp(`^Pulumi\\.x\\.yaml:${first}:1: is indented with a tab \\(as are \\d+ lines of this file\\); YAML indents with spaces only: replace the tabs with spaces$`));
});

test("one mis-indented line is one line naming that line, however it is off", () => {
  const deeper = prodWith("address: 10.50.0.1", (l) => ` ${l}`);
  assert.match(one(deeper.text), new RegExp(`^${FILE}:${deeper.line}:\\d+: is indented deeper than line ${deeper.line - 1} \\("site: dub"\\), so YAML reads it as more of that value; indent it like line ${deeper.line - 1}$`));
  const shallower = prodWith("address: 10.50.0.1", (l) => l.slice(1));
  assert.match(one(shallower.text), new RegExp(`^${FILE}:${shallower.line}:8: is indented 7 spaces, but the lines above it are at 8 \\(line ${shallower.line - 1}\\) or 6 \\(line \\d+\\); line it up with the key it belongs beside$`));
  const parentLevel = prodWith("address: 10.50.0.1", (l) => l.slice(2));
  assert.match(one(parentLevel.text), new RegExp(`^${FILE}:${parentLevel.line}:7: is indented less than the lines around it \\(lines ${parentLevel.line - 1} and ${parentLevel.line + 1}\\); indent it like them$`));
  const node = prodWith("hkg:", (l) => l.slice(1));
  assert.match(one(node.text), new RegExp(`^${FILE}:${node.line}:6: is indented 5 spaces, but the lines above it are at 6 \\(line \\d+\\) or 4 \\(line \\d+\\)`));
});

test("a missing colon, a colon without its space, an unclosed quote or { }: one line each at the mistake", () => {
  const role = prodWith("role: pop", (l) => l.replace("role: pop", "role pop"));
  assert.equal(one(role.text), `${FILE}:${role.line}:9: "role pop" is not key: value: a colon is missing after the key ("role: pop")`);
  const glued = prodWith("role: pop", (l) => l.replace("role: pop", "role:pop"));
  assert.equal(one(glued.text), `${FILE}:${glued.line}:9: "role:pop" is not key: value: a colon takes a space after it ("role: pop")`);
  const quoted = prodWith("overlay:", (l) => l.replace("10.50.0.0/16", '"10.50.0.0/16'));
  assert.match(one(quoted.text), new RegExp(`^${FILE}:${quoted.line}:14: this quoted value is not closed: add the closing quote on the same line$`));
  const flow = prodWith("central:", (l) => l.replace("}", ""));
  assert.match(one(flow.text), new RegExp(`^${FILE}:${flow.line}:\\d+: this \\{ \\} map is not closed on its line; close it \\(\\}\\) or write one item per line$`));
});

test("every line of prod broken each way gives at most one syntax line, never in the parser's words", () => {
  const breaks: [string, (l: string) => string][] = [
    ["indent +1", (l) => ` ${l}`],
    ["indent -1", (l) => l.replace(/^ /, "")],
    ["tab", (l) => l.replace(/^( +)/, "\t")],
    ["colon dropped", (l) => l.replace(/: /, " ")],
    ["quote opened", (l) => l.replace(/: /, ': "')],
  ];
  let syntaxLines = 0;
  PROD_LINES.forEach((original, i) => {
    if (original.trim() === "" || original.trim().startsWith("#")) return;
    for (const [what, change] of breaks) {
      const lines = [...PROD_LINES];
      lines[i] = change(original);
      if (lines[i] === original) continue;
      const found = problems(lines.join("\n"));
      const syntax = found.filter((f) => /^Pulumi\.x\.yaml:\d+:\d+: /.test(f));
      assert.ok(syntax.length <= 1, `line ${i + 1} ${what}:\n${found.join("\n")}`);
      if (syntax.length === 1) {
        syntaxLines++;
        assert.equal(found.length, 1, `line ${i + 1} ${what}: a syntax error is the only line:\n${found.join("\n")}`);
      }
      for (const f of found) assert.doesNotMatch(f, PARSER_WORDS, `line ${i + 1} ${what}`);
      for (const f of found) assert.doesNotMatch(f, /given a second time/, `line ${i + 1} ${what}: no key is given twice in prod`);
    }
  });
  assert.ok(syntaxLines > 50, `${syntaxLines} broken files were syntax errors`);
});

test("a key given twice is still named, once per key", () => {
  assert.deepEqual(problems("config:\n  wg-mesh:mesh:\n    overlay: a\n    overlay: b\n    hub: x\n    hub: y\n"), [
    `${FILE}:4:5: "overlay" is given a second time in this map; keep one`,
    `${FILE}:6:5: "hub" is given a second time in this map; keep one`,
  ]);
});

test("wg-mesh:foo is reported once, beside the mesh's own problems", () => {
  const text = PROD.replace(/^config:$/m, "config:\n  wg-mesh:foo: 1");
  assert.deepEqual(problems(text), ["config.wg-mesh:foo: unknown key; wg-mesh reads only wg-mesh:mesh"]);
  const broken = text.replace("topology: regional", "topology: ring");
  const found = problems(broken);
  assert.equal(found.filter((f) => f.startsWith("config.wg-mesh:foo")).length, 1, found.join("\n"));
  assert.equal(found.length, 2, found.join("\n"));
});

test("an empty file, a file of comments, a list, a single value: one line each", () => {
  assert.equal(one(""), `${FILE}: is empty; a stack file is a map with config: wg-mesh:mesh: (see "Declaring a mesh" in the README)`);
  assert.equal(one("# nothing here yet\n\n"), `${FILE}: is empty; a stack file is a map with config: wg-mesh:mesh: (see "Declaring a mesh" in the README)`);
  assert.equal(one("- config\n- wg-mesh:mesh\n"), `${FILE}:1:1: is a list, not a map; a stack file is a map with config: wg-mesh:mesh: (see "Declaring a mesh" in the README)`);
  assert.match(one("just words\n"), /^Pulumi\.x\.yaml:1:1: is "just words", not a map;/);
});

test("byte-order marks are read as the Pulumi CLI reads them; other bytes are one line where text stops", () => {
  const plain = loadStackConfig(PROD, FILE);
  const utf8Bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(PROD, "utf8")]);
  assert.deepEqual(loadStackConfig(utf8Bom, FILE), plain);
  assert.deepEqual(loadStackConfig(`\uFEFF${PROD}`, FILE), plain, "a BOM left in decoded text");
  const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(PROD, "utf16le")]);
  assert.deepEqual(loadStackConfig(le, FILE), plain);
  const be = Buffer.from(le);
  be.swap16();
  assert.deepEqual(loadStackConfig(be, FILE), plain);
  // The same without its mark is not UTF-8: one line at the first byte that is not.
  assert.equal(one(Buffer.from(PROD, "utf16le")), `${FILE}:1:2: holds a control character (U+0000), which YAML text never does; a stack file is YAML text: is it the right file?`);
  const latin1 = Buffer.from(PROD.replace("edgeproxy-prod", "edgeproxy-café"), "latin1");
  const line = PROD_LINES.findIndex((l) => l.includes("edgeproxy-prod")) + 1;
  assert.equal(one(latin1), `${FILE}:${line}:${(PROD_LINES[line - 1] as string).indexOf("edgeproxy-prod") + 14}: is not UTF-8 text from here (byte 0xe9); save the stack file as UTF-8, or is it the wrong file?`);
});

test("random bytes are one short line, whatever the bytes", () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let run = 0; run < 50; run++) {
    const bytes = Buffer.from(Array.from({ length: 20_000 }, () => Math.floor(next() * 256)));
    const line = one(bytes);
    assert.ok(line.length < 200, line);
    assert.match(line, /^Pulumi\.x\.yaml:\d+:\d+: (is not UTF-8 text from here|holds a control character)/);
  }
});

test("a key that is a list or map is one line, and neither the YAML library nor Node prints anything", async () => {
  const warnings: string[] = [];
  const listen = (w: Error) => warnings.push(w.message);
  process.on("warning", listen);
  try {
    assert.equal(one("config:\n  ? [a, b]\n  : 1\n  wg-mesh:mesh: {}\n"), `${FILE}:2:5: a key here is a list or map; the keys of a stack file are plain names (key: value)`);
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("warning", listen);
  }
  assert.deepEqual(warnings, []);

  // As a user runs it: stderr holds wgmesh's lines only.
  const dir = mkdtempSync(join(tmpdir(), "wgmesh-yaml-"));
  try {
    writeFileSync(join(dir, "Pulumi.yaml"), "name: wg-mesh\nruntime: nodejs\n");
    writeFileSync(join(dir, "Pulumi.c.yaml"), PROD.replace(/^config:$/m, "config:\n  ? [a, b]\n  : 1"));
    const r = spawnSync(process.execPath, [join(REPO, "cli", "bin.js"), "plan", "--stack", "c"], { cwd: dir, encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, "Pulumi.c.yaml:6:5: a key here is a list or map; the keys of a stack file are plain names (key: value)\n1 problem in Pulumi.c.yaml; nothing was written\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
