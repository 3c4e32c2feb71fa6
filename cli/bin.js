#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so `npx wgmesh` works without a build step.
require("tsx/cjs");
require("./main.ts").main(process.argv);
