#!/bin/bash
# The data-parallel measurements of docs/DISTRIBUTED.md in one run, for a quiet machine:
#   ../shared/tools/quiet.sh -- bench/dist_bench.sh [--data DIR] [--batches N] [--out FILE]
# (quiet.sh watches the whole script; its exit 75 means the figures are noise: do not record them).
#  1. all-reduce time per buffer size through mhub's MPI communicator (2 ranks; fit α and β of
#     the ring cost model from the printed bytes,median_ms lines);
#  2. scaling on the bundled fashion-cnn: the same 8 x N training images as 1 process x N
#     batches of 8 and as 2 ranks x N/2 batches of 8, one thread per process, plain and with
#     --zero 1 (per-rank optimizer state); fashion-cnn has no BatchNorm, so --sync-bn is not timed;
#  3. a summary: images/s of each run (from the epochs' `seconds`, which include the sharded
#     evaluation of the test split, as in both runs) and the 2-rank / 1-process ratio.
# Prints everything; with --out FILE also writes the summary there. Needs a build with MPI
# (build/tests/dist/mhub_dist_allreduce_bench) and Fashion-MNIST (default
# /usr/share/datasets/fashion-mnist); exits 77 when either is missing.
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
mhub="$here/build/cli/mhub"
bench="$here/build/tests/dist/mhub_dist_allreduce_bench"
data=/usr/share/datasets/fashion-mnist
batches=800
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: bench/dist_bench.sh [--data DIR] [--batches N (even)] [--out FILE]" >&2; exit 2 ;;
  esac
done
[ -x "$bench" ] || { echo "skipped: $bench not built (a build with MPI: libopenmpi-dev)" >&2; exit 77; }
[ -d "$data" ] || { echo "skipped: no Fashion-MNIST at $data (--data DIR)" >&2; exit 77; }
command -v mpirun >/dev/null || { echo "skipped: mpirun not found (openmpi-bin)" >&2; exit 77; }
[ $((batches % 2)) -eq 0 ] || { echo "--batches must be even" >&2; exit 2; }
# --bind-to core: one core per rank (the figures assume 2 idle cores); no cross-memory attach
# in containers that forbid it.
mpirun=(mpirun --allow-run-as-root --bind-to core --mca btl_vader_single_copy_mechanism none -x OMP_NUM_THREADS=1)
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

echo "== all-reduce, 2 ranks (bytes,median_ms,bus_GBps)"
"${mpirun[@]}" -np 2 "$bench"

# seconds of the single epoch of a finetune --json run (rank 0's output)
epoch_seconds() { python3 -c 'import json,sys; print(json.load(sys.stdin)["epochs"][0]["seconds"])' < "$1"; }
state_bytes() { python3 -c 'import json,sys; print(json.load(sys.stdin)["optimizer_state_bytes_per_rank"])' < "$1"; }
finetune=(finetune fashion-cnn --data "$data" --epochs 1 --batch-size 8 --threads 1 --seed 1 --json)

summary="$scratch/summary.txt"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "fashion-cnn, $((batches * 8)) training images per run, batch 8 per process, 1 thread per process"
  echo "run | seconds | images/s | optimizer state bytes per rank"
} > "$summary"
run() {  # NAME RANKS EXTRA_ARGS...
  local name="$1" ranks="$2"
  shift 2
  local json="$scratch/$name.json"
  echo "== $name"
  if [ "$ranks" -eq 1 ]; then
    "$mhub" "${finetune[@]}" --limit-batches "$batches" --out "$scratch/$name.onnx" "$@" > "$json"
  else
    "${mpirun[@]}" -np "$ranks" "$mhub" "${finetune[@]}" --limit-batches $((batches / ranks)) --out "$scratch/$name.onnx" "$@" > "$json"
  fi
  local seconds
  seconds=$(epoch_seconds "$json")
  echo "$name | $seconds | $(python3 -c "print(round($batches * 8 / $seconds, 1))") | $(state_bytes "$json")" | tee -a "$summary"
}
run one_process 1
run two_ranks 2
run two_ranks_zero1 2 --zero 1
one=$(sed -n 's/^one_process | \([0-9.]*\) .*/\1/p' "$summary")
two=$(sed -n 's/^two_ranks | \([0-9.]*\) .*/\1/p' "$summary")
echo "2 ranks / 1 process images/s: $(python3 -c "print(round($one / $two, 2))") (issue 16 asks >= 1.8)" | tee -a "$summary"
echo "== summary"
cat "$summary"
[ -z "$out" ] || cp "$summary" "$out"
