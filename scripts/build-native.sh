#!/usr/bin/env bash
# Builds the native addon (native/binding.gyp) against the headers of the node that runs us.
# nodedir is derived from the node binary so no header tarball is ever downloaded (there is no
# network here beyond the package registries).
set -euo pipefail
cd "$(dirname "$0")/.."
nodedir="$(dirname "$(dirname "$(command -v node)")")"
if [ ! -f "$nodedir/include/node/node_api.h" ]; then
  echo "build-native: no Node headers under $nodedir/include/node; install your distribution's nodejs headers" >&2
  exit 2
fi
exec node node_modules/node-gyp/bin/node-gyp.js rebuild --directory native --nodedir "$nodedir" --jobs max --loglevel warn
