#!/usr/bin/env bash
# Builds the WAL addon with one planted bug (native/plants.json) into native/build-planted/<name>/,
# loadable with POWERCUT_NATIVE_BUILD=native/build-planted/<name>. Never touches native/build (the
# shipped addon). `all` builds every plant, two at a time (the machines have 2 CPUs).
#   bash scripts/build-planted.sh <name>|all
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
names="$(node -p "require('./native/plants.json').plants.map((p) => p.name).join(' ')")"
if [ $# -ne 1 ]; then
  echo "usage: build-planted.sh <name>|all   (names: $names)" >&2
  exit 2
fi
nodedir="$(dirname "$(dirname "$(command -v node)")")"

build_one() {
  local name="$1" out="$root/native/build-planted/$1"
  rm -rf "$out"
  mkdir -p "$out/src"
  # Every source directory binding.gyp names, not the build outputs.
  for entry in "$root"/native/*; do
    case "$(basename "$entry")" in
      build | build-asan | build-test | build-planted) ;;
      *) cp -r "$entry" "$out/src/" ;;
    esac
  done
  if ! POWERCUT_PLANT="$name" node "$root/node_modules/node-gyp/bin/node-gyp.js" rebuild --directory "$out/src" \
    --nodedir "$nodedir" --jobs 1 --loglevel warn >"$out/build.log" 2>&1; then
    echo "build-planted: $name failed (see $out/build.log)" >&2
    return 1
  fi
  ln -sfn src/build/Release "$out/Release"
  echo "build-planted: $name -> native/build-planted/$name"
}
export -f build_one
export root nodedir

start=$SECONDS
if [ "$1" = all ]; then
  # shellcheck disable=SC2086
  printf '%s\n' $names | xargs -P 2 -I{} bash -c 'build_one "$1"' _ {}
else
  case " $names " in
    *" $1 "*) build_one "$1" ;;
    *) echo "build-planted: unknown plant '$1' (names: $names)" >&2; exit 2 ;;
  esac
fi
echo "build-planted: done in $((SECONDS - start)) s"
