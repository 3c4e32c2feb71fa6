#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so `npx wgmesh` works without a build step.
const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  process.stderr.write(`wgmesh: Node.js 22 or newer is required (this is ${process.version}); install it (https://nodejs.org), or in a wg-mesh checkout run bash scripts/setup.sh and put the folder \`bash scripts/node-runtime.sh\` prints first on PATH\n`);
  process.exit(1);
}
require("tsx/cjs");
require("./main.ts").main(process.argv);
