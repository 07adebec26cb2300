#!/usr/bin/env bash
# The local demo (npm run demo): sets up sshd + nginx + a JVM target on 127.0.0.1, deploys v1 then v2 with
# the bundled action, and shows the log. `npm run demo -- --keep` leaves the target running.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prepare.sh
[ -f dist/index.js ] || npm run --silent bundle
exec npx tsx scripts/demo.ts "$@"
