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
# the rest of the file left alone); a noisy run prints its table and exits with quiet.sh's status
# (75) without touching RESULTS.md.
# The section keeps one row per (model, batch), each with its own steps cell and date + quiet.sh
# line: a run replaces only the rows it measured (bench/train_bench_rows.awk), so a partial run
# (`--models bert_encoder --batches 8,32`) keeps the other models' rows.
# --dry-run measures once without quiet.sh and writes nothing (to check the script end to end,
# e.g. `--iters 1 --warmup 0 --rounds 1 --models resnet18 --batches 8 --dry-run`).
# --precision bf16 (or fp16) times mhub's mixed-precision step against mhub's own fp32 step
# instead of PyTorch (interleaved rounds, the same rules) into its own section, "train_bench.sh bf16".
# --model-iters MODEL=ITERS:WARMUP[,...] sets a model's steps per median and warm-up steps
# instead of --iters / --warmup; default bert_encoder=2:1 (PyTorch's BERT-size step at batch 32
# takes tens of seconds); `--model-iters ""` applies --iters / --warmup to every model.
# Models are exported once into $MHUB_TRAIN_BENCH_MODELS (default build/bench-train-models).
# Usage: bench/train_bench.sh [MHUB_BINARY] [--threads N] [--iters N] [--warmup N] [--rounds N]
#                             [--models a,b,...] [--batches 8,32] [--precision fp32|bf16|fp16]
#                             [--model-iters MODEL=ITERS:WARMUP,...] [--dry-run]
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
mhub="$here/build/cli/mhub"
threads=2
iters=5
warmup=2
rounds=2
all_models="resnet18,mobilenet_v2,resnet50,mobilenet_v3_large,vit_tiny,bert_encoder"
models="$all_models"
model_iters="bert_encoder=2:1"
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
    --model-iters) model_iters="$2"; shift 2 ;;
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

# steps_of MODEL: sets m_iters and m_warmup (--model-iters' entry for MODEL, else --iters / --warmup).
steps_of() {
  local entry
  m_iters="$iters" m_warmup="$warmup"
  for entry in ${model_iters//,/ }; do
    if [ "${entry%%=*}" = "$1" ]; then
      m_iters="${entry#*=}" m_iters="${m_iters%%:*}" m_warmup="${entry##*:}"
    fi
  done
}

measure() {  # appends one row per model and batch to $1, its last cell (date, quiet.sh) left open
  local rows="$1" m b ours theirs best_ours best_theirs steps
  median() { sed -n 's/.*"median_ms": *\([0-9.e+-]*\).*/\1/p'; }
  for m in ${models//,/ }; do
    steps_of "$m"
    steps="$threads threads, median of $m_iters after $m_warmup warm-up, best of $rounds"
    for b in ${batches//,/ }; do
      best_ours="" best_theirs="" ours="" theirs=""
      for _ in $(seq "$rounds"); do
        ours=$("$mhub" bench "$dir/$m.onnx" --train --batch "$b" --threads "$threads" --iters "$m_iters" \
               --warmup "$m_warmup" --precision "$precision" --json | median) || ours=""
        if [ "$precision" = fp32 ]; then
          theirs=$(/usr/bin/python3 "$here/bench/train_bench_torch.py" "$m" --batch "$b" --threads "$threads" \
                   --iters "$m_iters" --warmup "$m_warmup" | median) || theirs=""
        else  # the baseline is mhub's own fp32 step
          theirs=$("$mhub" bench "$dir/$m.onnx" --train --batch "$b" --threads "$threads" --iters "$m_iters" \
                   --warmup "$m_warmup" --json | median) || theirs=""
        fi
        [ -n "$ours" ] && [ -n "$theirs" ] || break
        best_ours=$(awk -v a="$ours" -v b="${best_ours:-$ours}" 'BEGIN { print (a < b ? a : b) }')
        best_theirs=$(awk -v a="$theirs" -v b="${best_theirs:-$theirs}" 'BEGIN { print (a < b ? a : b) }')
      done
      if [ -z "$ours" ] || [ -z "$theirs" ]; then
        printf '| %s | %s | %s | %s | - | - | - | %s |\n' "$m" "$b" "${ours:-failed}" "${theirs:-failed}" "$steps" | tee -a "$rows"
        continue
      fi
      awk -v m="$m" -v n="$b" -v a="$best_ours" -v t="$best_theirs" -v s="$steps" \
        'BEGIN { printf "| %s | %s | %.0f | %.0f | %.2f | %.2f | %.2fx | %s |\n", m, n, a, t, 1000 * n / a, 1000 * n / t, t / a, s }' |
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

rows="$(mktemp)" verdict="$(mktemp)" tmp="$(mktemp)" merged="$(mktemp)" body="$(mktemp)"
trap 'rm -f "$rows" "$verdict" "$tmp" "$merged" "$body"' EXIT
run_measurement "$rows" "$verdict"
speeds() { awk -F'|' '$8 + 0 > 0 { s += log($8 + 0); n++ } END { if (n) printf "%.2f", exp(s / n) }' "$1"; }
if [ "$quiet_status" -ne 0 ]; then
  echo "not recorded (status $quiet_status): ${quiet_line:-quiet.sh gave no verdict}; geometric mean speed against $baseline of this run: $(speeds "$rows")" >&2
  exit "$quiet_status"
fi
# Each row of this run gets its date and quiet.sh's line, then replaces its (model, batch) row of
# the section or joins it.
results="$here/bench/RESULTS.md"
[ -f "$results" ] || results=/dev/null
awk -v when="$(date -u '+%Y-%m-%d %H:%M UTC'); ${quiet_line//|//}" '{ print $0 " " when " |" }' "$rows" > "$tmp"
awk -v section="$section" -v models="$all_models" -f "$here/bench/train_bench_rows.awk" "$results" "$tmp" > "$merged"
geomean=$(speeds "$merged")
if [ "$precision" != fp32 ]; then
  title="Training: mhub --precision $precision vs mhub fp32 (CPU)" ours="mhub $precision" theirs="mhub fp32"
  ours_short="$precision" theirs_short="fp32" per="precision" flag=" --precision $precision"
else
  title="Training: mhub vs PyTorch 1.13 (CPU)" ours="mhub" theirs="PyTorch"
  ours_short="mhub" theirs_short="PyTorch" per="engine" flag=""
fi
{
  echo "## $title"
  echo
  echo "- last written: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  if [ "$precision" != fp32 ]; then
    echo "- one step as in the section above (forward + cross-entropy + backward + SGD momentum 0.9); $precision:"
    echo "  Conv, ConvTranspose, Gemm, MatMul and the Conv gradients in $precision, float32 master weights, BatchNorm"
    echo "  and loss (\`mhub finetune --precision\`)"
  else
    echo "- one step = forward + cross-entropy + backward + SGD (momentum 0.9) update, BatchNorm and Dropout in training"
    echo "  mode; images 3x224x224 with 1000 classes; bert_encoder: the BERT-base-size encoder (12 layers, d 768)"
    echo "  at seq 128 from its token embeddings, 2 classes (bench/export_train_models.py)"
  fi
  echo "- each row from its own run of bench/train_bench.sh$flag (a run replaces the rows it measured):"
  echo "  steps = threads, median of N steps after W warm-up steps, best median of R interleaved rounds per"
  echo "  $per; measured = that run's date and quiet.sh line"
  echo
  echo "| model | batch | $ours ms/step | $theirs ms/step | $ours_short examples/s | $theirs_short examples/s | speed $ours_short/$theirs_short | steps | measured |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  cat "$merged"
  echo
  echo "- geometric mean of the speed over the $(awk -F'|' '$8 + 0 > 0' "$merged" | wc -l) timed rows: **${geomean:-n/a}**"
  if [ "$precision" != fp32 ]; then
    echo "- where the step goes: \`mhub bench MODEL --train --precision $precision --verbose\`"
  else
    echo "- where mhub's step goes: \`mhub bench MODEL --train --verbose\` (kernel ms by op, \"(update)\" = optimizer and copies)"
  fi
} > "$body"
replace_section "$section" "$body"
echo "wrote $here/bench/RESULTS.md ($section, geometric mean speed over its rows ${geomean:-n/a})"
