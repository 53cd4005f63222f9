#!/usr/bin/env bash
# Configures the sanitizer build (clang, AddressSanitizer + UndefinedBehaviorSanitizer everywhere,
# libFuzzer coverage on the readers: -DMHUB_FUZZ=ON) in build-san/ and builds the given ninja
# targets. One build serves both the unit tests under the sanitizers (scripts/test.sh) and the
# fuzz targets (scripts/fuzz.sh).
# Usage: scripts/sanitize.sh TARGET...
# -O0 with line tables: the instrumented build costs a quarter of what -O1 does to compile, and
# sanitizer reports still name file:line. The standard headers are precompiled once per library
# (-DMHUB_PCH=ON, cmake/precompiled_headers.cmake): at -O0 parsing them was a third to a half of
# each file's compile.
set -euo pipefail
cd "$(dirname "$0")/.."
CC=clang CXX=clang++ cmake -S . -B build-san -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -gline-tables-only -DNDEBUG" -DMHUB_FUZZ=ON -DMHUB_CUDA=OFF -DMHUB_PCH=ON >/dev/null
status=0
# shellcheck disable=SC2068
ninja -C build-san ${MHUB_JOBS:+-j "$MHUB_JOBS"} $@ | grep -v '^\[' || status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || { echo "sanitizer build failed (ninja exit $status)" >&2; exit "$status"; }
