#!/usr/bin/env bash
# What the demo, the tests and the bench need first: the system packages (root, apt-get, only when missing)
# and the npm dependencies (without install scripts, so no native add-on ever lands in the bundle).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
[ -d node_modules ] || npm ci --ignore-scripts
