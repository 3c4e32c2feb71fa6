/** The scripts as shipped to nodes: comment lines gone, code and multi-line strings untouched. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { shippedBootstrap } from "../../infra/render/cloudinit";
import { agentFiles } from "../../infra/render/agent";
import { shippedNodeCommand, renderNodeCommand } from "../../infra/render/node-command";
import { renderAgentSyncScript, renderBootstrap } from "../../infra/render/sync-script";
import { fileVault } from "../../infra/vault";
import { shipScript } from "../../infra/render/shipped";

const codeLines = (text: string): string[] => text.split("\n").filter((l) => !/^\s*#/.test(l));

test("only whole comment lines go; the shebang stays and a line says where the comments are", () => {
  const script = "#!/bin/bash\n# why\nset -eu\n  # indented why\necho 'a # not a comment'\nx=${y#z} # trailing stays\n";
  assert.equal(shipScript(script, "test script"), "#!/bin/bash\n# wg-mesh test script; its comments are in the source\nset -eu\necho 'a # not a comment'\nx=${y#z} # trailing stays\n");
});

test("a line inside a multi-line quoted string is kept whatever it starts with", () => {
  const script = "#!/bin/bash\nawk '\n# an awk comment, inside the quotes\n{ print }' f\nprintf \"%s\n#still a string\n\" x\n# gone\n";
  const shipped = shipScript(script, "t");
  assert.match(shipped, /^# an awk comment, inside the quotes$/m);
  assert.match(shipped, /^#still a string$/m);
  assert.doesNotMatch(shipped, /^# gone$/m);
});

test("a here-document or an unclosed quote is refused rather than guessed at", () => {
  assert.throws(() => shipScript("#!/bin/bash\ncat <<EOF\n# data\nEOF\n", "t"), /here-document/);
  assert.doesNotMatch(shipScript("#!/bin/bash\nread -r x <<<\"$y\"\n", "t"), /here-document/);
  assert.throws(() => shipScript("#!/bin/bash\necho 'open\n", "t"), /never closed/);
});

test("the shipped bootstrap, agent and node command are the source's code, line for line, and parse", () => {
  const vault = fileVault("/srv/vault.conf");
  const agent = agentFiles("1.2.3").find((f) => f.name === "wgmesh-sync")?.content as string;
  for (const [source, shipped] of [
    [renderBootstrap({ node: "n", vault }), shippedBootstrap({ node: "n", vault })],
    [renderAgentSyncScript("1.2.3"), agent],
    [renderNodeCommand(), shippedNodeCommand()],
  ] as const) {
    assert.deepEqual(codeLines(shipped), codeLines(source));
    assert.deepEqual(shipped.split("\n").filter((l: string) => /^\s*#/.test(l)).length, 2, "the shebang and the note are the only comments left");
    const r = spawnSync("bash", ["-n"], { input: shipped, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  }
});

test("a line continued by a backslash still counts as a line: the comment after it goes", () => {
  const script = "#!/bin/bash\necho a \\\n  b\n# gone\nx='\n# kept, in a string\n'\n";
  assert.equal(shipScript(script, "t"), "#!/bin/bash\n# wg-mesh t; its comments are in the source\necho a \\\n  b\nx='\n# kept, in a string\n'\n");
});
