#!/usr/bin/env bash
# The test command (`pnpm test`): lint and types, the native core under AddressSanitizer/UBSan,
# the host suites (unit, property, addon), then the integration suite inside the microVM on real
# device-mapper. Ends with one line "N passed, N failed, N skipped" summed over every report.
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

# The crash harness's self-test (`pnpm crashtest --self-test`: every planted bug through the
# default crashtest of its strategy) is not a step here yet: one plant (no-dir-fsync) is still
# missed by the default checks on ext4, and a full run takes far longer than CI's budget on these
# machines (docs/crash/detection.md). It writes a vitest-style report that test-summary.mjs can sum.

node scripts/test-summary.mjs "$out" || status=1
exit "$status"
