#!/usr/bin/env bash
# Builds mhub's libFuzzer targets with clang (ASan + UBSan, scripts/sanitize.sh's build-san/) and
# runs each for a bounded time. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET...]
# Seeds are the committed format fixtures plus the hostile shapes of tests/hostile/hostile.py
# (huge shapes with no data, zero-stride views, deep nesting, many keys, path traversal); each
# target gets its dictionary from fuzz/dict/. Findings (crash-*, leak-*, timeout-*) land in
# build-san/findings/ and make the script fail.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors pickle gguf pth onnx_model)

scripts/sanitize.sh $(printf 'fuzz_%s ' "${targets[@]}")

fixtures=tests/fixtures/formats
mkdir -p build-san/findings build-san/fuzz-logs
# Targets run side by side, one per core (MHUB_JOBS, default nproc): each still gets its full time.
jobs="${MHUB_JOBS:-$(nproc)}"
running=0
for target in "${targets[@]}"; do
  corpus="build-san/corpus/$target"
  mkdir -p "$corpus"
  case "$target" in
    safetensors) cp $fixtures/*.safetensors "$corpus/" ;;
    pth) cp $fixtures/*.pth $fixtures/*.pt "$corpus/" ;;
    pickle) for f in $fixtures/*.pth; do unzip -p "$f" '*/data.pkl' > "$corpus/$(basename "$f").pkl" 2>/dev/null || true; done ;;
    onnx_model) cp models/fashion-cnn/model.onnx "$corpus/bundled.onnx"
      for c in test_abs test_conv_with_strides_padding test_if test_loop11 test_gather_0; do
        [ -f ../shared/onnx-backend-tests/node/$c/model.onnx ] && cp ../shared/onnx-backend-tests/node/$c/model.onnx "$corpus/$c.onnx"
      done ;;
    gguf) [ -x build/cli/mhub ] && build/cli/mhub convert $fixtures/mixed.pth "$corpus/mixed.gguf" >/dev/null 2>&1 || true ;;
  esac
  python3 tests/hostile/hostile.py --write-seeds "$target" "$corpus"
  echo "fuzz_$target: ${seconds}s"
  build-san/fuzz/fuzz_$target "$corpus" -dict="fuzz/dict/$target.dict" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
    -timeout=10 -artifact_prefix=build-san/findings/$target- -print_final_stats=1 > "build-san/fuzz-logs/$target.log" 2>&1 &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true
for target in "${targets[@]}"; do
  echo "fuzz_$target:"; grep -E "^(Done|==[0-9]+==ERROR|SUMMARY)" "build-san/fuzz-logs/$target.log" || true
done
if ls build-san/findings/* >/dev/null 2>&1; then
  echo "fuzz: findings in build-san/findings:"; ls build-san/findings
  exit 1
fi
echo "fuzz: no crashes"
