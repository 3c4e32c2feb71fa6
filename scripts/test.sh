#!/usr/bin/env bash
# Every test: engine unit and property tests, Pulumi mock tests, and the lab tests on real
# WireGuard (these need root; they say so loudly and skip where the machine cannot run them).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mapfile -t files < <(find tests -name '*.test.ts' | sort)
exec node --import tsx --test "${files[@]}"
