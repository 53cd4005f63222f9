#!/bin/bash
# End-to-end fine-tuning: `mhub finetune` of the bundled fashion-cnn (models/fashion-cnn) on
# Fashion-MNIST against the same loop in PyTorch 1.13 (bench/fmnist_torch.py: the same network and
# starting weights, AdamW at a constant --lr, cross-entropy, batch size, thread count, seed and
# normalisation; PyTorch draws its own data order). Reports wall time per epoch (training + the
# evaluation on the 10,000 test images, as finetune's --json "seconds" counts it) and the final
# test accuracy of both, in interleaved rounds (mhub, PyTorch, ...; each engine's fastest round
# counts, accuracies are the last round's: both runs are seeded, so every round trains the same).
# The whole measurement runs under ../shared/tools/quiet.sh; only a run it calls quiet is written
# to bench/RESULTS.md (the section between the "fmnist_vs_torch.sh begin/end" markers) with
# quiet.sh's line; a noisy run prints its rows and exits with quiet.sh's status (75).
# --dry-run runs once without quiet.sh and writes nothing; with --limit-batches N it is a quick
# end-to-end check (e.g. `--limit-batches 5 --rounds 1 --dry-run`).
# Usage: bench/fmnist_vs_torch.sh [MHUB_BINARY] [--threads N] [--epochs N] [--batch-size N] [--lr X]
#                                 [--seed N] [--rounds N] [--limit-batches N] [--dry-run]
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
mhub="$here/build/cli/mhub"
data=/usr/share/datasets/fashion-mnist
threads=2 epochs=1 batch=32 lr=0.001 seed=0 rounds=2 limit=0 dry_run=0 inner=""
mean=0.2860 std=0.3530  # scripts/make_bundled_model.py's normalisation
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --batch-size) batch="$2"; shift 2 ;;
    --lr) lr="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --limit-batches) limit="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --inner) inner="$2"; shift 2 ;;  # internal: measure and write the result rows to this file
    *) mhub="$1"; shift ;;
  esac
done
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  echo "PyTorch for /usr/bin/python3 not installed (Debian python3-torch)" >&2
  exit 77
fi
if [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
  echo "Fashion-MNIST not found in $data (Debian dataset-fashion-mnist)" >&2
  exit 77
fi
model="$here/models/fashion-cnn/model.onnx"
. "$here/bench/quiet_results.sh"

measure() {  # writes "| engine | seconds per epoch | test accuracy | test loss |" rows to $1
  local rows="$1" work best_ours="" best_theirs="" ours theirs
  work="$(mktemp -d)"
  "$mhub" convert "$model" "$work/weights.safetensors" >/dev/null 2>&1 || { echo "mhub convert $model failed" >&2; exit 1; }
  # The last epoch's figures and the mean epoch time of a finetune --json / fmnist_torch.py run.
  summary() {
    /usr/bin/python3 -c 'import json, sys
e = json.load(sys.stdin)["epochs"]
print(sum(x["seconds"] for x in e) / len(e), e[-1]["eval_accuracy"], e[-1]["eval_loss"])'
  }
  for round in $(seq "$rounds"); do
    ours="" theirs=""
    read -r ours ours_acc ours_loss < <("$mhub" finetune "$model" --data "$data" --epochs "$epochs" --batch-size "$batch" \
      --lr "$lr" --optimizer adamw --schedule constant --mean "$mean" --std "$std" --seed "$seed" --threads "$threads" \
      --limit-batches "$limit" --out "$work/tuned-$round.onnx" --json | summary)
    read -r theirs theirs_acc theirs_loss < <(/usr/bin/python3 "$here/bench/fmnist_torch.py" "$work/weights.safetensors" \
      --data "$data" --epochs "$epochs" --batch-size "$batch" --lr "$lr" --mean "$mean" --std "$std" --seed "$seed" \
      --threads "$threads" --limit-batches "$limit" | summary)
    [ -n "$ours" ] && [ -n "$theirs" ] || { echo "a run failed (mhub: '${ours}', PyTorch: '${theirs}')" >&2; exit 1; }
    best_ours=$(awk -v a="$ours" -v b="${best_ours:-$ours}" 'BEGIN { print (a < b ? a : b) }')
    best_theirs=$(awk -v a="$theirs" -v b="${best_theirs:-$theirs}" 'BEGIN { print (a < b ? a : b) }')
  done
  rm -rf "$work"
  {
    printf '| mhub finetune | %.1f | %.4f | %.4f |\n' "$best_ours" "$ours_acc" "$ours_loss"
    printf '| PyTorch 1.13 | %.1f | %.4f | %.4f |\n' "$best_theirs" "$theirs_acc" "$theirs_loss"
    awk -v a="$best_ours" -v b="$best_theirs" -v x="$ours_acc" -v y="$theirs_acc" \
      'BEGIN { printf "\n- speed mhub/PyTorch per epoch: **%.2fx**; test accuracy mhub - PyTorch: %+.2f points\n", b / a, 100 * (x - y) }'
  } | tee "$rows"
}

if [ -n "$inner" ]; then
  measure "$inner"
  exit 0
fi
rows="$(mktemp)" verdict="$(mktemp)" tmp="$(mktemp)"
trap 'rm -f "$rows" "$verdict" "$tmp"' EXIT
run_measurement "$rows" "$verdict"
if [ "$quiet_status" -ne 0 ]; then
  echo "not recorded (status $quiet_status): ${quiet_line:-quiet.sh gave no verdict}" >&2
  exit "$quiet_status"
fi
batches="all $((60000 / batch)) batches"
[ "$limit" = 0 ] || batches="the first $limit batches"
{
  results_preamble "Fine-tuning end to end: mhub finetune vs PyTorch 1.13 on Fashion-MNIST"
  echo "- the bundled fashion-cnn from its shipped weights, $epochs epoch(s) of $batches of $batch, AdamW lr $lr"
  echo "  (constant), weight decay 0.01, cross-entropy, mean $mean / std $std, seed $seed, $threads threads;"
  echo "  PyTorch: the same network and weights in bench/fmnist_torch.py (its own data order)"
  echo "- seconds per epoch = training + evaluation of the 10,000 test images; fastest of $rounds interleaved"
  echo "  rounds per engine; written by bench/fmnist_vs_torch.sh"
  echo
  echo "| engine | seconds per epoch | test accuracy | test loss |"
  echo "| --- | --- | --- | --- |"
  cat "$rows"
} > "$tmp"
replace_section fmnist_vs_torch.sh "$tmp"
echo "wrote $here/bench/RESULTS.md"
