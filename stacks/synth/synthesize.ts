/**
 * The stack program (stacks/index.ts) run under Pulumi's mock runtime with a stack file's config: what
 * `wgmesh synth` prints and what the tests read. Mock IDs and IPs stand in for what the clouds would
 * assign, and other stacks (peerStacks) are taken as not deployed.
 */
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { UserError } from "../../infra/errors";
import { loadStack, projectDir, projectName, stackConfig } from "../../workspace/project";
import { freshRequire, runUnderMocks } from "./run";
import { synthJson, formatTree, type SynthJson } from "./tree";

const PROGRAM = join(__dirname, "..", "index.ts");

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
    // A RunError is the program refusing the stack, already worded for people.
    throw pulumi.RunError.isInstance(err) ? new UserError(err.message) : err;
  }
  return { json: synthJson(project, stack, run.resources, run.outputs, run.warnings), tree: formatTree(run.resources) };
}

