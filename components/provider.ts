/**
 * The component package's schema inferred from the sources: Pulumi's analyzer reads the components'
 * TypeScript types and doc comments, as Pulumi's own ComponentProvider does. `npm run build` runs it
 * once and ships the result (dist/components/schema.json); the plugin serves that file (plugin.ts),
 * since the analyzer type-checks the whole program, which a consumer's every preview should not pay for.
 *
 * The analyzer and generateSchema are the modules ComponentProvider is made of, used here directly
 * because ComponentProvider finds the entry point from package.json, whose `exports` and `main` name the
 * built files (dist/), not these sources. @pulumi/pulumi is pinned exactly; the package tests hold the result.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Analyzer } from "@pulumi/pulumi/provider/experimental/analyzer";
import { generateSchema } from "@pulumi/pulumi/provider/experimental/schema";
import { PACKAGE_NAME } from "./package-name";
import { publishedSchema, type PackageSchema } from "./package-schema";
import { NODE_CLASS } from "./roles";

export { PACKAGE_NAME } from "./package-name";

/** The classes the analyzer reads: the Mesh, and the one node class every role is made of. */
export const PACKAGE_COMPONENTS = ["Mesh", NODE_CLASS] as const;

const ROOT = join(__dirname, "..");

/** The schema as the package ships it: inferred from the sources, its names set (publishedSchema). */
export function inferPackageSchema(): PackageSchema {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string; description: string };
  const analyzer = new Analyzer(ROOT, PACKAGE_NAME, { ...pkg, exports: undefined, main: "components/index.ts" }, new Set(PACKAGE_COMPONENTS));
  const { components, typeDefinitions, dependencies } = analyzer.analyze();
  return publishedSchema(generateSchema(PACKAGE_NAME, pkg.version, pkg.description, components, typeDefinitions, dependencies) as unknown as PackageSchema);
}
