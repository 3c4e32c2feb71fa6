/** `npm run schema`: the component package's schema, as `pulumi package get-schema` would print it. */
import { meshComponentProvider } from "./provider";

meshComponentProvider()
  .getSchema()
  .then(
    (schema) => process.stdout.write(`${JSON.stringify(JSON.parse(schema), null, 2)}\n`),
    (err: unknown) => {
      process.stderr.write(`schema: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
