#!/usr/bin/env bash
# Builds the WAL core and addon with AddressSanitizer + UndefinedBehaviorSanitizer and runs:
#   1. the standalone core tests (native/test/core-test.cc) under ASan/UBSan with leak detection;
#   2. the recovery property (test/property/wal-recovery.test.ts) and the edge-case tests inside
#      node against the sanitized addon (native/build-asan), libasan/libubsan preloaded.
# Leak detection is off inside node: node itself does not free everything at exit.
# Exit status is non-zero on any sanitizer report or test failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

echo "native-sanitize: standalone core tests (ASan+UBSan)"
make -s -C native asan-test

export POWERCUT_NATIVE_BUILD="$root/native/build-asan/src/build"
echo "native-sanitize: building the addon with -fsanitize=address,undefined into native/build-asan"
rm -rf native/build-asan
mkdir -p native/build-asan/src
# Every source directory binding.gyp names (wal, addon, and any other addon sharing the file).
for entry in native/*; do
  case "$(basename "$entry")" in
    build | build-asan | build-test | build-planted) ;;
    *) cp -r "$entry" native/build-asan/src/ ;;
  esac
done
nodedir="$(dirname "$(dirname "$(command -v node)")")"
POWERCUT_SANITIZE=1 node node_modules/node-gyp/bin/node-gyp.js rebuild --directory native/build-asan/src \
  --nodedir "$nodedir" --jobs max --loglevel warn >/dev/null

libasan="$(${CXX:-g++} -print-file-name=libasan.so)"
libubsan="$(${CXX:-g++} -print-file-name=libubsan.so)"
for lib in "$libasan" "$libubsan"; do
  if [ ! -e "$lib" ]; then
    echo "native-sanitize: $lib not found (install the compiler's sanitizer runtimes)" >&2
    exit 2
  fi
done

# Prove the tests below really load the sanitized addon into a sanitized node process.
# (capture first: grep -q closing the pipe early would fail the pipeline under pipefail)
linked="$(ldd "$POWERCUT_NATIVE_BUILD/Release/powercut_wal.node")"
if ! grep -q libasan <<<"$linked"; then
  echo "native-sanitize: the addon in $POWERCUT_NATIVE_BUILD is not linked against libasan" >&2
  exit 1
fi
LD_PRELOAD="$libasan $libubsan" node --input-type=module -e '
  import { readFileSync } from "node:fs";
  const maps = readFileSync("/proc/self/maps", "utf8");
  if (!maps.includes("libasan")) { console.error("native-sanitize: libasan not loaded in node"); process.exit(1); }'

echo "native-sanitize: recovery property and edge cases under node with the sanitized addon"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export POWERCUT_PROPERTY_RUNS="${POWERCUT_PROPERTY_RUNS:-40}"
export POWERCUT_HOSTILE_RUNS="${POWERCUT_HOSTILE_RUNS:-150}"
LD_PRELOAD="$libasan $libubsan" node node_modules/vitest/vitest.mjs run \
  test/property/wal-recovery.test.ts test/property/wal-hostile.test.ts test/addon/wal-recovery-reliability.test.ts \
  test/addon/wal-edge-cases.test.ts test/addon/wal-strategies.test.ts
