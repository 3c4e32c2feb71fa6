/**
 * The README's `pulumi stack output --json ... | jq ...` recipes, run with real jq against the outputs of
 * the real stack program for prod under the mock runtime (secrets masked as `pulumi stack output` masks
 * them), so the recipes keep working as the outputs change.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { maskSecrets } from "../../stacks/synth/tree";
import { planMesh } from "../../infra/plan";
import { loadStackConfig } from "../../infra/config";
import { REPO, runStackFile } from "../support/pulumi";

interface Recipe {
  comment: string;
  output: string;
  filter: string[];
}

/** `pulumi stack output --json NAME | jq ARGS` lines of the README's sh blocks, with the comment above each. */
function recipes(): Recipe[] {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const out: Recipe[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    let comment = "";
    for (const line of (block[1] as string).split("\n")) {
      if (line.startsWith("#")) comment = line.slice(1).trim();
      const m = /^pulumi stack output --json (\w+) \| jq (-r )?'(.*)'$/.exec(line);
      if (m) out.push({ comment, output: m[1] as string, filter: [...(m[2] ? ["-r"] : []), m[3] as string] });
    }
  }
  return out;
}

test("every jq recipe in the README answers its question from prod's real outputs", async () => {
  const list = recipes();
  assert.ok(list.length >= 6, `the README has its recipes (${list.length} found)`);
  const run = await runStackFile("prod");
  const outputs = maskSecrets(run.outputs) as Record<string, unknown>;
  const answers = new Map<string, string>();
  for (const r of list) {
    assert.ok(r.output in outputs, `${r.comment}: the stack has an output ${r.output}`);
    const jq = spawnSync("jq", r.filter, { input: JSON.stringify(outputs[r.output]), encoding: "utf8" });
    assert.equal(jq.status, 0, `${r.comment}: jq ${r.filter.join(" ")}\n${jq.stderr}`);
    assert.ok(jq.stdout.trim().length > 0 && !/\bnull\b/.test(jq.stdout), `${r.comment}: an answer, not nothing or null:\n${jq.stdout}`);
    answers.set(r.comment, jq.stdout);
  }
  // The answers say what the plan says.
  const plan = planMesh(loadStackConfig(readFileSync(join(REPO, "Pulumi.prod.yaml"), "utf8"), "Pulumi.prod.yaml"));
  const find = (start: string): string => [...answers.entries()].find(([c]) => c.startsWith(start))?.[1] ?? "";
  const hkgPeers = find("Which peers should hkg have").trim().split("\n").map((l) => l.split("\t").slice(0, 2));
  assert.deepEqual(hkgPeers, plan.nodes.find((n) => n.name === "hkg")?.peers.map((p) => [p.name, p.allowedIps.join(",")]));
  assert.deepEqual(find("Which nodes forward").trim().split("\n").sort(), plan.nodes.filter((n) => n.forwarding).map((n) => n.name).sort());
  assert.equal(find("Which nodes, where").trim().split("\n").length, plan.nodes.length);
  assert.match(find("Which pairs go through ireland"), /^\d+ pairs, e\.g\. \w+ -> \w+/);
  const checks = find("Did a VM run its bootstrap").trim().split("\n");
  assert.equal(checks.length, plan.nodes.filter((n) => n.cloud !== "external").length, "one look per VM");
  assert.ok(checks.every((l) => /^\S+\t(aws ec2 get-console-output|gcloud compute instances get-serial-port-output|az vm run-command invoke) /.test(l)), checks.join("\n"));
});
