/** The stack's declaration, read from Pulumi config and validated before anything is created. */
import * as pulumi from "@pulumi/pulumi";
import { parseMeshConfig } from "../infra/config";
import type { ConfigIssue, MeshSpec } from "../infra/model";
import { asRunError } from "./prove";

export interface MeshStackInput {
  spec: MeshSpec;
  project: string;
  stack: string;
}

export function readStackInput(): MeshStackInput {
  const raw = new pulumi.Config("wg-mesh").requireObject<unknown>("mesh");
  try {
    const warnings: ConfigIssue[] = [];
    const spec = parseMeshConfig(raw, warnings);
    // Allowed but probably unwise (an admin range of millions of addresses): shown by pulumi, not fatal.
    for (const w of warnings) void pulumi.log.warn(`wg-mesh:mesh: ${w.path}: ${w.message}`);
    return { spec, project: pulumi.getProject(), stack: pulumi.getStack() };
  } catch (err) {
    throw asRunError(err, "wg-mesh:mesh");
  }
}
