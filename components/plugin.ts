/**
 * The component package as Pulumi starts it: `pulumi package add` and every preview of a program
 * using the package run @pulumi/pulumi's run-plugin on the package's folder, which loads package.json
 * `main` (this file) and, finding no component class exported, calls the function exported here.
 * It serves the schema made at build time (schema.json beside this file). A TypeScript program
 * imports the components themselves instead (package.json `exports`: index.ts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { main } from "@pulumi/pulumi/provider";
import { MeshPackageProvider } from "./package-provider";

export = function servePackage(): Promise<void> {
  return main(new MeshPackageProvider(readFileSync(join(__dirname, "schema.json"), "utf8")), process.argv.slice(2));
};
