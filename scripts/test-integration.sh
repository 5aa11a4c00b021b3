#!/usr/bin/env bash
# Runs test/integration inside the microVM (real dm-flakey and dm-log-writes), booted once for the
# whole suite. Skips with a printed reason only when qemu or the VM kernel cache is absent; any
# other failure to run the VM fails. Extra arguments go to vitest (e.g. a test file).
# POWERCUT_TEST_JSON=<file>: also write vitest's JSON report there (a skip writes a report that
# counts one skipped test, so a summary never mistakes a skip for a pass or for a crash).
set -euo pipefail
cd "$(dirname "$0")/.."
project=$(pwd -P)

skip() {
  echo "test-integration: SKIPPED: $1"
  if [ -n "${POWERCUT_TEST_JSON:-}" ]; then
    mkdir -p "$(dirname "$POWERCUT_TEST_JSON")"
    printf '{"numPassedTests":0,"numFailedTests":0,"numPendingTests":1,"numTodoTests":0,"skipReason":"%s"}\n' "$1" > "$POWERCUT_TEST_JSON"
  fi
  exit 0
}

command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (apt-get install --no-install-recommends qemu-system-x86)"
node_modules/.bin/tsx src/cli/vm.ts --status >/dev/null 2>&1 || skip "no VM kernel cache (run: pnpm vm --prepare)"

reporter=()
share=()
if [ -n "${POWERCUT_TEST_JSON:-}" ]; then
  mkdir -p "$(dirname "$POWERCUT_TEST_JSON")"
  json_dir=$(cd "$(dirname "$POWERCUT_TEST_JSON")" && pwd -P)
  json="$json_dir/$(basename "$POWERCUT_TEST_JSON")"
  rm -f "$json"
  # The guest sees the project read-write; a report directory elsewhere must be shared too.
  case "$json_dir/" in "$project"/*) ;; *) share=(--share "$json_dir") ;; esac
  reporter=(--reporter=default --reporter=json "--outputFile.json=$json")
fi

started=$(date +%s)
# POWERCUT_REQUIRE_DM=1: inside the VM a missing target is a broken VM, never a reason to skip.
set +e
POWERCUT_REQUIRE_DM=1 node_modules/.bin/tsx src/cli/vm.ts --timing --timeout 1200 "${share[@]}" -- \
  node_modules/.bin/vitest run --config vitest.integration.config.ts "${reporter[@]}" "$@"
status=$?
set -e
echo "test-integration: exit $status after $(( $(date +%s) - started )) s"
exit "$status"
