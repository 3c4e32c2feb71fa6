/**
 * `npm run schema`: the component package's schema as it ships (package-schema.ts), as
 * `pulumi package get-schema` would print it; with a file argument, written there (npm run build).
 */
import { writeFileSync } from "node:fs";
import { inferPackageSchema } from "./provider";

const [out] = process.argv.slice(2);
const text = `${JSON.stringify(inferPackageSchema(), null, 2)}\n`;
if (out) writeFileSync(out, text);
else process.stdout.write(text);
