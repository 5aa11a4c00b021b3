#!/usr/bin/env bash
# Runs test/integration inside the microVM (real dm-flakey and dm-log-writes), booted once for the
# whole suite. Skips with a printed reason only when qemu or the VM kernel cache is absent; any
# other failure to run the VM fails. Extra arguments go to vitest (e.g. a test file).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v qemu-system-x86_64 >/dev/null; then
  echo "test-integration: SKIPPED: qemu-system-x86_64 not installed (apt-get install --no-install-recommends qemu-system-x86)"
  exit 0
fi
if ! node_modules/.bin/tsx src/cli/vm.ts --status >/dev/null 2>&1; then
  echo "test-integration: SKIPPED: no VM kernel cache (run: pnpm vm --prepare)"
  exit 0
fi

started=$(date +%s)
# POWERCUT_REQUIRE_DM=1: inside the VM a missing target is a broken VM, never a reason to skip.
set +e
POWERCUT_REQUIRE_DM=1 node_modules/.bin/tsx src/cli/vm.ts --timing --timeout 900 -- \
  node_modules/.bin/vitest run --config vitest.integration.config.ts "$@"
status=$?
set -e
echo "test-integration: exit $status after $(( $(date +%s) - started )) s"
exit "$status"
