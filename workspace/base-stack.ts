/**
 * The other side of `wgmesh diff`: a stack's declaration as it was at a git ref, or as a file someone
 * gives, planned offline. Every problem is a one-line error naming where the declaration came from.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadStackConfig } from "../infra/config";
import { UserError } from "../infra/errors";
import { MeshConfigError, type MeshPlan } from "../infra/model";
import { planMesh } from "../infra/plan";
import { AGENT_VERSION_FILE, agentRelease } from "../infra/render/agent";
import { readFileAtOrUndefined, readStackFileAt } from "./git";

export interface BaseStack {
  plan: MeshPlan;
  /** How the diff names the base: the ref (or merge base) or the file. */
  label: string;
  /** The node agent the base's code deploys; undefined from before node agents, null when it cannot be told (a base file, a project that is not wg-mesh's own tree). */
  agentVersion: string | undefined | null;
}

/** `from.file`: a file to read; otherwise the stack file at `from.ref` (default: the merge base with the default branch). */
export function loadBaseStack(stack: string, dir: string, from: { file: string } | { ref: string | undefined }): BaseStack {
  const file = `Pulumi.${stack}.yaml`;
  let text: string | Uint8Array;
  let label: string;
  let agentVersion: string | undefined | null = null;
  if ("file" in from) {
    try {
      text = readFileSync(from.file);
    } catch (err) {
      throw new UserError(`--base-file ${JSON.stringify(from.file)}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    label = from.file;
  } else {
    const at = readStackFileAt(dir, file, from.ref);
    text = at.text;
    label = at.label;
    // Only a project that is wg-mesh's own tree carries the agent's version; elsewhere it cannot be told.
    if (existsSync(join(dir, AGENT_VERSION_FILE))) {
      const release = readFileAtOrUndefined(dir, at.commit, AGENT_VERSION_FILE);
      agentVersion = release === undefined ? undefined : agentRelease(release).version;
    }
  }
  const source = `${file} at ${label}`;
  try {
    return { plan: planMesh(loadStackConfig(text, source)), label, agentVersion };
  } catch (err) {
    if (err instanceof MeshConfigError) throw new MeshConfigError(err.issues, `${source} (the base; compare with another --base)`);
    throw err;
  }
}
