/**
 * The component package: what `pulumi package add` runs to give every Pulumi language the Mesh, Hub,
 * Pop and Backend. The Pulumi CLI starts it through PulumiPlugin.yaml and package.json's main
 * (components/index.ts); the schema is inferred from the components' TypeScript types and doc comments.
 */
import { join } from "node:path";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import { Backend } from "./backend";
import { Hub } from "./hub";
import { Mesh } from "./mesh";
import { Pop } from "./pop";

/** The package name: the first part of every type token (wg-mesh:index:Mesh). */
export const PACKAGE_NAME = "wg-mesh";

export const PACKAGE_COMPONENTS = [Mesh, Hub, Pop, Backend] as const;

/** The provider the plugin host serves, made here so tests and `npm run schema` use the very same one. */
export function meshComponentProvider(): ComponentProvider {
  return new ComponentProvider({ name: PACKAGE_NAME, components: [...PACKAGE_COMPONENTS], dirname: join(__dirname, "..") });
}
