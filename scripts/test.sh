#!/usr/bin/env bash
# Every test: engine unit and property tests, Pulumi mock tests, and the lab tests on real
# WireGuard (these need root; they say so loudly and skip where the machine cannot run them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Node.js 22 or newer first on PATH: the machine's, or the one setup.sh installed.
# shellcheck source=scripts/node-runtime.sh
. scripts/node-runtime.sh
wgmesh_need_node
# The lab's differential test samples 20 of its 240 faulted topologies here (about 4 minutes);
# WGMESH_DIFF_SAMPLE=240 runs them all (half an hour on 2 cores).
export WGMESH_DIFF_SAMPLE="${WGMESH_DIFF_SAMPLE:-20}"
mapfile -t files < <(find tests -name '*.test.ts' | sort)
# A test file whose process hangs (a deadlock blocks its own timers) would hold the run until CI
# kills it without a word. The deadline ends it with one that names what happened; every test
# reported before it is in the output. Whole differential runs get three hours.
deadline="${WGMESH_TEST_DEADLINE:-$(( WGMESH_DIFF_SAMPLE > 20 ? 10800 : 3600 ))}"
status=0
timeout --kill-after=30 "$deadline" node --import tsx --test "${files[@]}" || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "scripts/test.sh: the tests did not finish within ${deadline} s; the file after the last test reported above hangs (WGMESH_TEST_DEADLINE sets the limit)" >&2
fi
exit "$status"
