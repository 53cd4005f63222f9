#!/bin/bash
# Times one training step (forward + cross-entropy + backward + SGD momentum 0.9 update) in mhub
# (`mhub bench --train --json`) and in PyTorch 1.13 (bench/train_bench_torch.py, the same
# architecture, seed, loss, optimizer, batch and thread count) for the models of
# bench/export_train_models.py: resnet18, mobilenet_v2, resnet50, mobilenet_v3_large, ViT-Tiny/16
# (3x224x224, 1000 classes, BatchNorm and Dropout in training mode) and the BERT-base-size encoder
# fine-tune step at seq 128 (2 classes; input: the token embeddings), at each batch of --batches.
# Interleaved rounds (mhub, PyTorch, mhub, PyTorch ...): each engine's best median over the rounds
# counts. The whole measurement runs under ../shared/tools/quiet.sh; only a run it calls quiet is
# written to bench/RESULTS.md (its own section between the "train_bench.sh begin/end" markers,
# the rest of the file left alone) with quiet.sh's line; a noisy run prints its table and exits
# with quiet.sh's status (75) without touching RESULTS.md.
# --dry-run measures once without quiet.sh and writes nothing (to check the script end to end,
# e.g. `--iters 1 --warmup 0 --rounds 1 --models resnet18 --batches 8 --dry-run`).
# --precision bf16 (or fp16) times mhub's mixed-precision step against mhub's own fp32 step
# instead of PyTorch (interleaved rounds, the same rules) into its own section, "train_bench.sh bf16".
# Models are exported once into $MHUB_TRAIN_BENCH_MODELS (default build/bench-train-models).
# Usage: bench/train_bench.sh [MHUB_BINARY] [--threads N] [--iters N] [--warmup N] [--rounds N]
#                             [--models a,b,...] [--batches 8,32] [--precision fp32|bf16|fp16] [--dry-run]
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
mhub="$here/build/cli/mhub"
threads=2
iters=5
warmup=2
rounds=2
models="resnet18,mobilenet_v2,resnet50,mobilenet_v3_large,vit_tiny,bert_encoder"
batches="8,32"
dry_run=0
precision=fp32
inner=""
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --iters) iters="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --precision) precision="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --inner) inner="$2"; shift 2 ;;  # internal: measure and append table rows to this file
    *) mhub="$1"; shift ;;
  esac
done
if ! /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then
  echo "PyTorch / torchvision for /usr/bin/python3 not installed (Debian python3-torch, python3-torchvision)" >&2
  exit 77
fi
. "$here/bench/quiet_results.sh"
dir="${MHUB_TRAIN_BENCH_MODELS:-$here/build/bench-train-models}"

measure() {  # appends one row per model and batch to $1
  local rows="$1" m b ours theirs best_ours best_theirs
  median() { sed -n 's/.*"median_ms": *\([0-9.e+-]*\).*/\1/p'; }
  for m in ${models//,/ }; do
    for b in ${batches//,/ }; do
      best_ours="" best_theirs="" ours="" theirs=""
      for _ in $(seq "$rounds"); do
        ours=$("$mhub" bench "$dir/$m.onnx" --train --batch "$b" --threads "$threads" --iters "$iters" \
               --warmup "$warmup" --precision "$precision" --json | median) || ours=""
        if [ "$precision" = fp32 ]; then
          theirs=$(/usr/bin/python3 "$here/bench/train_bench_torch.py" "$m" --batch "$b" --threads "$threads" \
                   --iters "$iters" --warmup "$warmup" | median) || theirs=""
        else  # the baseline is mhub's own fp32 step
          theirs=$("$mhub" bench "$dir/$m.onnx" --train --batch "$b" --threads "$threads" --iters "$iters" \
                   --warmup "$warmup" --json | median) || theirs=""
        fi
        [ -n "$ours" ] && [ -n "$theirs" ] || break
        best_ours=$(awk -v a="$ours" -v b="${best_ours:-$ours}" 'BEGIN { print (a < b ? a : b) }')
        best_theirs=$(awk -v a="$theirs" -v b="${best_theirs:-$theirs}" 'BEGIN { print (a < b ? a : b) }')
      done
      if [ -z "$ours" ] || [ -z "$theirs" ]; then
        printf '| %s | %s | %s | %s | - | - | - |\n' "$m" "$b" "${ours:-failed}" "${theirs:-failed}" | tee -a "$rows"
        continue
      fi
      awk -v m="$m" -v n="$b" -v a="$best_ours" -v t="$best_theirs" \
        'BEGIN { printf "| %s | %s | %.0f | %.0f | %.2f | %.2f | %.2fx |\n", m, n, a, t, 1000 * n / a, 1000 * n / t, t / a }' |
        tee -a "$rows"
    done
  done
}

case "$precision" in
  fp32) section="train_bench.sh" baseline="PyTorch" ;;
  bf16|fp16) section="train_bench.sh $precision" baseline="mhub fp32" ;;
  *) echo "--precision $precision: use fp32, bf16 or fp16" >&2; exit 2 ;;
esac

if [ -n "$inner" ]; then
  measure "$inner"
  exit 0
fi

missing=""
for m in ${models//,/ }; do [ -f "$dir/$m.onnx" ] || missing="$missing${missing:+,}$m"; done
[ -z "$missing" ] || /usr/bin/python3 "$here/bench/export_train_models.py" "$dir" --only "$missing" >/dev/null

rows="$(mktemp)" verdict="$(mktemp)" tmp="$(mktemp)"
trap 'rm -f "$rows" "$verdict" "$tmp"' EXIT
run_measurement "$rows" "$verdict"
geomean=$(awk -F'|' '$8 + 0 > 0 { s += log($8 + 0); n++ } END { if (n) printf "%.2f", exp(s / n) }' "$rows")
if [ "$quiet_status" -ne 0 ]; then
  echo "not recorded (status $quiet_status): ${quiet_line:-quiet.sh gave no verdict}; geometric mean speed against $baseline of this run: ${geomean:-n/a}" >&2
  exit "$quiet_status"
fi
if [ "$precision" != fp32 ]; then
  {
    results_preamble "Training: mhub --precision $precision vs mhub fp32 (CPU)"
    echo "- one step as in the section above (forward + cross-entropy + backward + SGD momentum 0.9); $precision:"
    echo "  Conv, ConvTranspose, Gemm, MatMul and the Conv gradients in $precision, float32 master weights, BatchNorm"
    echo "  and loss (\`mhub finetune --precision\`)"
    echo "- threads: $threads, median of $iters steps after $warmup warm-up steps, best median of $rounds interleaved"
    echo "  rounds per precision; written by bench/train_bench.sh --precision $precision"
    echo
    echo "| model | batch | mhub $precision ms/step | mhub fp32 ms/step | $precision examples/s | fp32 examples/s | speed $precision/fp32 |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
    cat "$rows"
    echo
    echo "- geometric mean of the speed over the $(awk -F'|' '$8 + 0 > 0' "$rows" | wc -l) timed rows: **${geomean:-n/a}**"
    echo "- where the step goes: \`mhub bench MODEL --train --precision $precision --verbose\`"
  } > "$tmp"
  replace_section "$section" "$tmp"
  echo "wrote $here/bench/RESULTS.md ($section, geometric mean speed $geomean)"
  exit 0
fi
{
  results_preamble "Training: mhub vs PyTorch 1.13 (CPU)"
  echo "- one step = forward + cross-entropy + backward + SGD (momentum 0.9) update, BatchNorm and Dropout in training"
  echo "  mode; images 3x224x224 with 1000 classes; bert_encoder: the BERT-base-size encoder (12 layers, d 768)"
  echo "  at seq 128 from its token embeddings, 2 classes (bench/export_train_models.py)"
  echo "- threads: $threads, median of $iters steps after $warmup warm-up steps, best median of $rounds interleaved"
  echo "  rounds per engine; written by bench/train_bench.sh"
  echo
  echo "| model | batch | mhub ms/step | PyTorch ms/step | mhub examples/s | PyTorch examples/s | speed mhub/PyTorch |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  cat "$rows"
  echo
  echo "- geometric mean of the speed over the $(awk -F'|' '$8 + 0 > 0' "$rows" | wc -l) timed rows: **${geomean:-n/a}**"
  echo "- where mhub's step goes: \`mhub bench MODEL --train --verbose\` (kernel ms by op, \"(update)\" = optimizer and copies)"
} > "$tmp"
replace_section "$section" "$tmp"
echo "wrote $here/bench/RESULTS.md (geometric mean speed $geomean)"
