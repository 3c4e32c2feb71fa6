#!/usr/bin/env bash
# The main job: plan and render the staging mesh offline, then bring it up in the local lab
# on real WireGuard and ping every pair.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Node.js 22 or newer first on PATH: the machine's, or the one setup.sh installed.
# shellcheck source=scripts/node-runtime.sh
. scripts/node-runtime.sh
wgmesh_need_node
npx wgmesh plan --stack staging
npx wgmesh render --stack staging --out out/staging
npx wgmesh lab --stack staging
