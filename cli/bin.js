#!/usr/bin/env node
// The CLI from the TypeScript sources through tsx, for work in a checkout and the tests; the package's
// `wgmesh` bin is the compiled dist/cli/bin.js (npm run build).
require("tsx/cjs");
require("./bin.ts");
