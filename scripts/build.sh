#!/usr/bin/env bash
# Configures and builds mhub into build/ (or $MHUB_BUILD_DIR). Extra arguments go to cmake;
# $MHUB_TARGETS limits what ninja builds (default: everything).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${MHUB_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
# shellcheck disable=SC2086
ninja -C "$build" ${MHUB_JOBS:+-j "$MHUB_JOBS"} ${MHUB_TARGETS:-} | grep -v '^\[' || true
test -x "$build/cli/mhub" || test -n "${MHUB_TARGETS:-}"
