/** How the program fails on a problem a person can fix: a RunError, printed as its message alone. */
import * as pulumi from "@pulumi/pulumi";

/**
 * A RunError whose message stays as written. One error can fail the inputs of many resources
 * (every node's config waits on the plan), and Pulumi's SDK prefixes `error serializing property
 * "x": ` to the message at each input it fails, on the one shared object, so it would print
 * buried under a prefix per resource instead of one line per problem.
 */
export class MeshRunError extends pulumi.RunError {
  constructor(message: string) {
    super(message);
    Object.defineProperty(this, "message", { get: () => message, set: () => undefined, enumerable: false, configurable: false });
  }
}
