#!/bin/bash
# ctest peers.ort_low_precision: every fp16 and bf16 model `mhub convert --dtype` writes from the
# public benchmark models (resnet18 and mobilenet_v2 with and without --keep-io-types, the
# BERT-size encoder without; batch 1, sequence 1) loads and runs in ONNX Runtime 1.30 (CPU), and the error mhub
# reports against the float32 model matches the error ORT measures (its low-precision output vs
# its float32 output on the same input). Prints one JSON line per converted model.
# Usage: tests/peers/ort_low_precision.sh MHUB_BINARY SCRATCH_DIR
#   models: $MHUB_BENCH_MODELS (scripts/test.sh exports them to ~/.cache/mhub-bench-models with
#   /usr/bin/python3 ../shared/peers/export_models.py DIR), ONNX Runtime: onnxruntime-node in
#   ${MHUB_PEERS_DIR:-$HOME/.cache/mhub-peers} (../shared/peers/install.sh).
# Exit 0: all load, run and agree; 1: one does not; 77: a peer or the models are missing (skipped).
set -u
mhub="$1"
scratch="$2"
here="$(cd "$(dirname "$0")" && pwd)"
peers="${MHUB_PEERS_DIR:-$HOME/.cache/mhub-peers}/node_modules"
models="${MHUB_BENCH_MODELS:-$HOME/.cache/mhub-bench-models}"
if [ ! -d "$peers/onnxruntime-node" ] || ! command -v node >/dev/null; then
  echo "skipped: ONNX Runtime peer not installed ($peers/onnxruntime-node; ../shared/peers/install.sh installs it)"
  exit 77
fi
if ! /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
  echo "skipped: Debian's python3-onnx is missing (../shared/peers/install.sh installs it)"
  exit 77
fi
for name in resnet18 mobilenet_v2 bert_base_like; do
  if [ ! -f "$models/$name.onnx" ]; then
    echo "skipped: $models/$name.onnx missing; export with /usr/bin/python3 ../shared/peers/export_models.py $models"
    exit 77
  fi
done
rm -rf "$scratch" && mkdir -p "$scratch"
status=0
for name in resnet18 mobilenet_v2 bert_base_like; do
  pairs=()
  for dtype in fp16 bf16; do
    # --keep-io-types only adds Casts at the edges: checked on the CNNs, not on the BERT-size
    # encoder (each of its conversions reads 440 MB; the test stays under a minute).
    ios=("" --keep-io-types)
    [ "$name" = bert_base_like ] && ios=("")
    for io in "${ios[@]}"; do
      out="$scratch/$name.$dtype${io:+.keep-io}"
      if ! "$mhub" convert "$models/$name.onnx" "$out.onnx" --dtype "$dtype" $io --json > "$out.json" 2> "$out.log"; then
        echo "{\"model\":\"$name\",\"converted\":\"$(basename "$out")\",\"error\":\"mhub convert failed: $(tail -1 "$out.log")\"}"
        status=1
        continue
      fi
      run="$out.onnx"
      if [ "$dtype" = bf16 ] && [ -z "$io" ]; then
        run="$out.edges.onnx"
        /usr/bin/python3 "$here/ort_wrap_bf16_io.py" "$out.onnx" "$run" || { status=1; continue; }
      fi
      pairs+=("$run" "$out.json")
    done
  done
  [ ${#pairs[@]} -gt 0 ] || continue
  NODE_PATH="$peers" node "$here/ort_low_precision.js" "$models/$name.onnx" "${pairs[@]}" || status=1
  rm -f "$scratch/$name".*.onnx  # the BERT-size ones are large
done
exit $status
