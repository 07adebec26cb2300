#!/usr/bin/env bash
# The test command (npm test): the bundle is rebuilt so that what is tested is what users run, then jest runs
# the unit tests and the integration tests against real sshd, nginx and JVMs on 127.0.0.1.
# Extra arguments go to jest, e.g. `npm test -- __tests__/e2e.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/prepare.sh
npm run --silent bundle >/dev/null
mkdir -p .test-output
# Tests share one deploy user and start daemons: run them one file at a time.
NODE_OPTIONS="${NODE_OPTIONS:-} --experimental-vm-modules" exec npx jest --runInBand \
  --json --outputFile .test-output/jest.json "$@"
