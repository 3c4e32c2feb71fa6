/**
 * The component package's provider as the plugin runs it: the schema made at build time, and
 * `construct`, which is what the engine calls when a C#, Python, Go or YAML program makes a Mesh,
 * Hub, Pop or Backend.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { ConstructResult, Provider } from "@pulumi/pulumi/provider";
import { ROLES } from "../infra/model";
import { PACKAGE_NAME } from "./package-name";
import { MESH_TYPE, NODE_TYPES } from "./type-tokens";
import type { PackageSchema } from "./package-schema";

type ComponentClass = new (name: string, args: never, opts?: pulumi.ComponentResourceOptions) => pulumi.ComponentResource;

/** The components by type token, loaded at the first construct: serving the schema needs none of them. */
function componentClasses(): Record<string, ComponentClass> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { Mesh } = require("./mesh") as typeof import("./mesh");
  const { ROLE_CLASSES } = require("./mesh-node") as typeof import("./mesh-node");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const classes: Record<string, ComponentClass> = { [MESH_TYPE]: Mesh as unknown as ComponentClass };
  for (const role of ROLES) classes[NODE_TYPES[role]] = ROLE_CLASSES[role] as unknown as ComponentClass;
  return classes;
}

export class MeshPackageProvider implements Provider {
  readonly version: string;
  private readonly spec: PackageSchema;
  private classes: Record<string, ComponentClass> | undefined;

  constructor(private readonly schemaText: string) {
    this.spec = JSON.parse(schemaText) as PackageSchema;
    this.version = this.spec.version;
  }

  getSchema(): Promise<string> {
    return Promise.resolve(this.schemaText);
  }

  construct(name: string, type: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions): Promise<ConstructResult> {
    const spec = this.spec.resources[type];
    this.classes ??= componentClasses();
    const cls = this.classes[type];
    if (!spec || !cls) return Promise.reject(new Error(`${PACKAGE_NAME} has no component ${JSON.stringify(type)}; it has ${Object.keys(this.spec.resources).join(", ")}`));
    const instance = new cls(name, inputs as never, options) as unknown as Record<string, unknown> & pulumi.ComponentResource;
    // The component's outputs are the ones its schema lists, read off the instance as Pulumi's own provider does.
    const state = Object.fromEntries(Object.keys(spec.properties).map((key) => [key, instance[key]]));
    return Promise.resolve({ urn: instance.urn, state });
  }
}
