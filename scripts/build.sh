#!/usr/bin/env bash
# Configures and builds mhub into build/ (or $MHUB_BUILD_DIR). Extra arguments go to cmake;
# $MHUB_TARGETS limits what ninja builds (default: everything).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${MHUB_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
# shellcheck disable=SC2086
# Progress lines are dropped; a failed build still fails the script (ninja's status, not grep's).
status=0
ninja -C "$build" ${MHUB_JOBS:+-j "$MHUB_JOBS"} ${MHUB_TARGETS:-} | grep -v '^\[' || status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || { echo "build failed (ninja exit $status)" >&2; exit "$status"; }
