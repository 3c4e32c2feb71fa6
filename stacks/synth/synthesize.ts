/**
 * The stack program (stacks/index.ts) run under Pulumi's mock runtime with a stack file's config: what
 * `wgmesh synth` prints and what the tests read. Mock IDs and IPs stand in for what the clouds would
 * assign, and other stacks (peerStacks) are taken as not deployed.
 */
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { UserError } from "../../infra/errors";
import { MeshConfigError } from "../../infra/model";
import { cloudProblems } from "./checks";
import { loadStack, projectDir, projectName, stackConfig } from "../../workspace/project";
import { freshRequire, runUnderMocks } from "./run";
import { synthJson, formatTree, type SynthJson } from "./tree";

// No extension: stacks/index.ts from the sources, dist/stacks/index.js from the built package.
const PROGRAM = join(__dirname, "..", "index");

export interface Synthesis {
  json: SynthJson;
  tree: string[];
}

export async function synthesize(stack: string, dir = projectDir()): Promise<Synthesis> {
  // Validates the file and the mesh first, so config errors read as they do for wgmesh plan.
  const loaded = loadStack(stack, dir);
  const project = projectName(dir);
  const { config, secretKeys } = stackConfig(loaded.file);
  let run;
  try {
    run = await runUnderMocks({ project, stack, config, secretKeys, unknownStacks: "empty", program: () => freshRequire(PROGRAM) });
  } catch (err) {
    // A RunError is the program refusing the stack, already worded for people: one line per problem.
    if (!pulumi.RunError.isInstance(err)) throw err;
    const issues = err.message.split("\n").flatMap((line) => {
      const m = /^(\S+): (.+)$/.exec(line);
      return m ? [{ path: m[1] as string, message: m[2] as string }] : [];
    });
    throw issues.length > 0 ? new MeshConfigError(issues, `stack ${stack}, as pulumi up would report them`) : new UserError(err.message);
  }
  // What the program does not check itself because it cannot fail: the clouds' own rules, all at once.
  const refused = cloudProblems(run.resources);
  if (refused.length > 0) throw new MeshConfigError(refused, `stack ${stack}'s resources, which the clouds would refuse`);
  return { json: synthJson(project, stack, run.resources, run.outputs, run.warnings), tree: formatTree(run.resources) };
}

