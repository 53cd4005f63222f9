#!/usr/bin/env bash
# Configures and builds mhub into build/ (or $MHUB_BUILD_DIR). Extra arguments go to cmake;
# $MHUB_TARGETS limits what ninja builds (default: everything). $MHUB_BUILD_TYPE is the CMake
# build type (default Release: -O2, the engine -O3; RelWithDebInfo adds -g, about a third more
# compile time).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${MHUB_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${MHUB_BUILD_TYPE:-Release}" -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" "$@" >/dev/null
# shellcheck disable=SC2086
# Progress lines are dropped; a failed build still fails the script (ninja's status, not grep's).
status=0
ninja -C "$build" ${MHUB_JOBS:+-j "$MHUB_JOBS"} ${MHUB_TARGETS:-} | grep -v '^\[' || status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || { echo "build failed (ninja exit $status)" >&2; exit "$status"; }
