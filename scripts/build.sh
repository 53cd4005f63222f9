#!/usr/bin/env bash
# Configures and builds mhub into build/ (or $MHUB_BUILD_DIR). Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${MHUB_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
ninja -C "$build" ${MHUB_JOBS:+-j "$MHUB_JOBS"} | grep -v '^\[' || true
test -x "$build/cli/mhub"
