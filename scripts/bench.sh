#!/usr/bin/env bash
# npm run bench: the action vs the hand-written script on the same loopback target under the same load
# (figures printed, and written to .test-output/bench.json). BENCH_RUNS=N sets the runs per mode (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh
[ -f dist/index.js ] || npm run --silent bundle
exec npx tsx bench/run.ts "$@"
