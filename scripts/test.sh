#!/usr/bin/env bash
# The test command (`pnpm test`): lint and types, the native core under AddressSanitizer/UBSan,
# the host suites (unit, property, addon), then the integration suite inside the microVM on real
# device-mapper, then the crash harness's self-test (planted bugs, in the microVM). Ends with one
# line "N passed, N failed, N skipped" summed over every report.
set -uo pipefail
cd "$(dirname "$0")/.."
out=.cache/test-results
rm -rf "$out"; mkdir -p "$out"
status=0
step() { printf '\n== %s\n' "$*"; }

step "lint and types"
pnpm -s run lint || status=1

step "native core under ASan/UBSan"
bash scripts/native-sanitize.sh || status=1

step "unit, property and addon tests (host)"
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$out/host.json" || status=1

step "integration tests (microVM, real device-mapper)"
POWERCUT_TEST_JSON="$out/integration.json" bash scripts/test-integration.sh || status=1

step "crash harness self-test (every planted bug through the default crashtest of its strategy, and the clean build)"
# Each plant stops at its first violated trial, so its row is a catch or a miss; the clean build
# makes every check of each strategy and must hold. One test per row in the summary; the seed is
# fixed so a CI failure replays exactly (`sudo pnpm crashtest --self-test --seed 1202`).
pnpm -s crashtest --self-test --jobs 2 --seed 1202 --json "$out/self-test.json" || status=1

node scripts/test-summary.mjs "$out" || status=1
exit "$status"
