/** The stack's declaration, read from Pulumi config and validated before anything is created. */
import * as pulumi from "@pulumi/pulumi";
import { parseMeshConfig } from "../infra/config";
import type { MeshSpec } from "../infra/model";
import { asRunError } from "./prove";

export interface MeshStackInput {
  spec: MeshSpec;
  project: string;
  stack: string;
}

export function readStackInput(): MeshStackInput {
  const raw = new pulumi.Config("wg-mesh").requireObject<unknown>("mesh");
  try {
    return { spec: parseMeshConfig(raw), project: pulumi.getProject(), stack: pulumi.getStack() };
  } catch (err) {
    throw asRunError(err, "wg-mesh:mesh");
  }
}
