#!/usr/bin/env node
/** `wgmesh`, the package's bin: refuses an unsupported Node.js in one line, then runs the CLI. */
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  process.stderr.write(
    `wgmesh: Node.js 22 or newer is required (this is ${process.version}); install it (https://nodejs.org), or in a wg-mesh checkout run bash scripts/setup.sh and put the folder \`bash scripts/node-runtime.sh\` prints first on PATH\n`,
  );
  process.exit(1);
}
// Required only now, so that an old Node.js gets the line above rather than a syntax error.
// eslint-disable-next-line @typescript-eslint/no-require-imports
(require("./main") as typeof import("./main")).main(process.argv);
