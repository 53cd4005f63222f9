#!/bin/bash
# The data-parallel measurements of docs/DISTRIBUTED.md in one run, for a quiet machine:
#   ../shared/tools/quiet.sh -- bench/dist_bench.sh [--data DIR] [--batches N] [--resnet-batches M] [--out FILE]
# (quiet.sh watches the whole script; its exit 75 means the figures are noise: do not record them).
#  0. checks that mpirun's ranks stay in this script's process group and get one core each
#     (below: quiet.sh counts the CPU of every process outside its command's process group as
#     foreign); `--check-process-group` does only that (ctest dist.bench_process_group);
#  1. all-reduce time per buffer size through mhub's MPI communicator (2 ranks; fit α and β of
#     the ring cost model from the printed bytes,median_ms lines);
#  2. scaling on the bundled fashion-cnn: the same 8 x N training images as 1 process x N
#     batches of 8 and as 2 ranks x N/2 batches of 8, one thread per process, plain and with
#     --zero 1 (per-rank optimizer state); fashion-cnn has no BatchNorm, so --sync-bn is not timed;
#  3. scaling on resnet18 (the training export of bench/export_train_models.py, 3x224x224, 1000
#     classes, BatchNorm local to each rank): 8 x M synthetic images (random u8 pixels, 10 random
#     classes, written as .npy to a temp dir; 16 more as the test split) as 1 process x M batches
#     of 8 and 2 ranks x M/2 batches of 8, one thread per process; skipped with a note when
#     build/bench-train-models/resnet18.onnx is missing (--resnet18 FILE);
#  4. where the ceiling is: the one-process run again on core 1 (is one core slower than the
#     other?) and two independent single processes at once, one per core, each on half the images
#     with no communication at all ("compute_pair": what 2 ranks could reach if all-reduce were
#     free), for fashion-cnn and resnet18; resnet18 also with 8 and 16 MiB gradient buckets;
#  5. a summary: images/s of each run, wall (the epoch's `seconds`, which include the sharded
#     evaluation of the test split, as in both runs) and steady (its `train_seconds`: the
#     batches alone), each rank's phases (waiting for the loader, forward + backward, blocked
#     averaging gradients, agreeing on non-finite batches, the optimizer update), and the
#     2-rank / 1-process ratios.
# Prints everything; with --out FILE also writes the summary there. Needs a build with MPI
# (build/tests/dist/mhub_dist_allreduce_bench) and Fashion-MNIST (default
# /usr/share/datasets/fashion-mnist); exits 77 when either is missing.
set -eu
here="$(cd "$(dirname "$0")/.." && pwd)"
mhub="$here/build/cli/mhub"
bench="$here/build/tests/dist/mhub_dist_allreduce_bench"
data=/usr/share/datasets/fashion-mnist
batches=800
resnet_batches=32
resnet18="$here/build/bench-train-models/resnet18.onnx"
out=""
check_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --check-process-group) check_only=1; shift ;;
    --data) data="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --resnet-batches) resnet_batches="$2"; shift 2 ;;
    --resnet18) resnet18="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "usage: bench/dist_bench.sh [--check-process-group] [--data DIR] [--batches N (even)] [--resnet-batches M (even)] [--resnet18 FILE] [--out FILE]" >&2; exit 2 ;;
  esac
done
command -v mpirun >/dev/null || { echo "skipped: mpirun not found (openmpi-bin)" >&2; exit 77; }
command -v taskset >/dev/null || { echo "skipped: taskset not found (util-linux)" >&2; exit 77; }
[ "$(nproc)" -ge 2 ] || { echo "skipped: 2 ranks on a core each need 2 cores, $(nproc) here" >&2; exit 77; }
# Open MPI 4.1's default launcher (odls "default") calls setpgid(0, 0) in every rank it forks,
# so each rank leads a process group of its own and quiet.sh counts all of the ranks' CPU as
# foreign. Its "pspawn" launcher starts the ranks with posix_spawn and no process-group
# attribute: they stay in mpirun's group, which is this script's. Two consequences, both
# Open MPI 4.1.4's code (orte/mca/odls/pspawn/odls_pspawn.c): it applies no binding
# (--bind-to is ignored), so each rank binds itself to core OMPI_COMM_WORLD_LOCAL_RANK with
# taskset (and the single process to core 0); and when a rank fails, mpirun signals the rank's
# whole process group, this script included, so a failing run ends the bench at once (exit 143).
# For benchmarks only: the ctests and real runs keep the default launcher.
mpirun=(mpirun --allow-run-as-root --mca odls pspawn --mca btl_vader_single_copy_mechanism none -x OMP_NUM_THREADS=1)
bind_rank=(sh -c 'exec taskset -c "$OMPI_COMM_WORLD_LOCAL_RANK" "$0" "$@"')
bind_single=(taskset -c 0)

# Each rank prints its process group and allowed cores; all must be in this script's group and
# on distinct single cores, or quiet.sh cannot judge the run.
check_process_group() {
  local mine ranks
  mine=$(ps -o pgid= -p $$ | tr -d ' ')
  ranks=$("${mpirun[@]}" -np 2 "${bind_rank[@]}" sh -c 'echo "$(ps -o pgid= -p $$ | tr -d " ") $(taskset -cp $$ | sed "s/.*: //")"')
  echo "this script's process group $mine; ranks (process group, cores): $(echo $ranks)"
  echo "$ranks" | awk -v mine="$mine" '$1 != mine { bad = 1 } { cores[$2]++ } $2 ~ /[-,]/ { bad = 1 }
    END { if (NR != 2 || length(cores) != 2) bad = 1; exit bad }' ||
    { echo "the ranks left this script's process group or share cores: quiet.sh could not judge the runs" >&2; exit 1; }
}
check_process_group
[ "$check_only" -eq 0 ] || exit 0
[ -x "$bench" ] || { echo "skipped: $bench not built (a build with MPI: libopenmpi-dev)" >&2; exit 77; }
[ -d "$data" ] || { echo "skipped: no Fashion-MNIST at $data (--data DIR)" >&2; exit 77; }
[ $((batches % 2)) -eq 0 ] && [ "$batches" -gt 0 ] || { echo "--batches must be even and positive" >&2; exit 2; }
[ $((resnet_batches % 2)) -eq 0 ] && [ "$resnet_batches" -gt 0 ] || { echo "--resnet-batches must be even and positive" >&2; exit 2; }
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

echo "== all-reduce, 2 ranks (bytes,median_ms,bus_GBps)"
"${mpirun[@]}" -np 2 "${bind_rank[@]}" "$bench"

summary="$scratch/summary.txt"
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "fashion-cnn, $((batches * 8)) training images per run, batch 8 per process, 1 thread and 1 core per process"
  echo "wall: the epoch's seconds (its batches and the sharded evaluation of the test split); steady: its batches alone"
  echo "run | wall seconds | wall images/s | steady seconds | steady images/s | optimizer state bytes per rank"
} > "$summary"
# One summary row from a finetune --json run's single epoch (rank 0's output), then where each
# rank's batches spent their time (seconds and share of the steady seconds).
summarise() {  # NAME IMAGES JSON
  python3 - "$@" <<'PY' | tee -a "$summary"
import json, sys
name, images, path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
run = json.load(open(path))
e = run["epochs"][0]
print(f"{name} | {e['seconds']:.3f} | {images / e['seconds']:.1f} | {e['train_seconds']:.3f} | "
      f"{images / e['train_seconds']:.1f} | {run['optimizer_state_bytes_per_rank']}")
for rank, p in enumerate(e["phases"]):
    print(f"  rank {rank}: " + ", ".join(f"{k} {v:.3f} s ({100 * v / e['train_seconds']:.0f}%)" for k, v in p.items()))
PY
}
run() {  # NAME RANKS IMAGES FINETUNE_ARGS... (the images the epoch trains on, over all ranks)
  local name="$1" ranks="$2" images="$3"
  shift 3
  local json="$scratch/$name.json"
  echo "== $name"
  if [ "$ranks" -eq 1 ]; then
    "${bind_single[@]}" "$mhub" "$@" --out "$scratch/$name.onnx" > "$json"
  elif [ "$ranks" = core1 ]; then
    taskset -c 1 "$mhub" "$@" --out "$scratch/$name.onnx" > "$json"
  else
    "${mpirun[@]}" -np "$ranks" "${bind_rank[@]}" "$mhub" "$@" --out "$scratch/$name.onnx" > "$json"
  fi
  summarise "$name" "$images" "$json"
}
# Two single processes at once, one per core, each training IMAGES/2 of the images with no
# communication: a row with the slower one's seconds (both finish before the pair counts as done).
compute_pair() {  # NAME IMAGES FINETUNE_ARGS... (each process gets these args as they are)
  local name="$1" images="$2"
  shift 2
  echo "== $name"
  taskset -c 0 "$mhub" "$@" --out "$scratch/$name.0.onnx" > "$scratch/$name.0.json" &
  local first=$!
  taskset -c 1 "$mhub" "$@" --out "$scratch/$name.1.onnx" > "$scratch/$name.1.json"
  wait "$first"
  python3 - "$name" "$images" "$scratch/$name.0.json" "$scratch/$name.1.json" <<'PY' | tee -a "$summary"
import json, sys
name, images = sys.argv[1], float(sys.argv[2])
epochs = [json.load(open(p))["epochs"][0] for p in sys.argv[3:]]
wall = max(e["seconds"] for e in epochs)
steady = max(e["train_seconds"] for e in epochs)
print(f"{name} | {wall:.3f} | {images / wall:.1f} | {steady:.3f} | {images / steady:.1f} | -")
for core, e in enumerate(epochs):
    print(f"  core {core}: " + ", ".join(f"{k} {v:.3f} s" for k, v in e["phases"][0].items()))
PY
}
# Run $2 over run $1: wall and steady images/s (the summary's third and fifth columns).
ratio() {
  python3 -c 'import sys
rows = {l.split(" | ")[0]: l.split(" | ") for l in open(sys.argv[1]) if l.count(" | ") == 5 and not l.startswith("run |")}
a, b = rows[sys.argv[2]], rows[sys.argv[3]]
print(f"wall {float(b[2]) / float(a[2]):.2f}, steady {float(b[4]) / float(a[4]):.2f}")' "$summary" "$1" "$2"
}
finetune=(finetune fashion-cnn --data "$data" --epochs 1 --batch-size 8 --threads 1 --seed 1 --json)
run one_process 1 $((batches * 8)) "${finetune[@]}" --limit-batches "$batches"
run two_ranks 2 $((batches * 8)) "${finetune[@]}" --limit-batches $((batches / 2))
run two_ranks_zero1 2 $((batches * 8)) "${finetune[@]}" --limit-batches $((batches / 2)) --zero 1
echo "2 ranks / 1 process images/s: $(ratio one_process two_ranks) (issue 16 asks >= 1.8)" | tee -a "$summary"
run one_process_core1 core1 $((batches * 8)) "${finetune[@]}" --limit-batches "$batches"
compute_pair compute_pair $((batches * 8)) "${finetune[@]}" --limit-batches $((batches / 2))
echo "core 1 / core 0 images/s: $(ratio one_process one_process_core1); compute pair / 1 process (no communication, the ceiling): $(ratio one_process compute_pair)" | tee -a "$summary"

if [ -f "$resnet18" ]; then
  # Synthetic images as .npy (u8 pixels, int64 labels): train/ for the epoch, a small test/ for
  # its evaluation; written with the standard library only (no numpy needed).
  python3 - "$scratch/images" $((resnet_batches * 8)) 16 <<'PY'
import os, random, struct, sys
def npy(path, descr, shape, payload):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, "".join(f"{d}, " for d in shape))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload)
random.seed(1)
for split, count in (("train", int(sys.argv[2])), ("test", int(sys.argv[3]))):
    d = os.path.join(sys.argv[1], split)
    os.makedirs(d)
    npy(os.path.join(d, "inputs.npy"), "|u1", (count, 3, 224, 224), os.urandom(count * 3 * 224 * 224))
    npy(os.path.join(d, "labels.npy"), "<i8", (count,), struct.pack(f"<{count}q", *(random.randrange(10) for _ in range(count))))
PY
  echo "resnet18 (${resnet18#"$here"/}), $((resnet_batches * 8)) synthetic 3x224x224 training images per run, batch 8 per process, 1 thread and 1 core per process" >> "$summary"
  resnet=(finetune "$resnet18" --data "$scratch/images" --epochs 1 --batch-size 8 --threads 1 --seed 1 --json)
  run resnet18_one_process 1 $((resnet_batches * 8)) "${resnet[@]}"
  run resnet18_two_ranks 2 $((resnet_batches * 8)) "${resnet[@]}"
  echo "resnet18 2 ranks / 1 process images/s: $(ratio resnet18_one_process resnet18_two_ranks) (issue 16 asks >= 1.8)" | tee -a "$summary"
  # The pair gets the whole training split each: half the images come from --limit-batches.
  compute_pair resnet18_compute_pair $((resnet_batches * 8)) "${resnet[@]}" --limit-batches $((resnet_batches / 2))
  run resnet18_two_ranks_bucket8 2 $((resnet_batches * 8)) "${resnet[@]}" --bucket-mb 8
  run resnet18_two_ranks_bucket16 2 $((resnet_batches * 8)) "${resnet[@]}" --bucket-mb 16
  echo "resnet18 compute pair / 1 process (no communication, the ceiling): $(ratio resnet18_one_process resnet18_compute_pair); 8 MiB buckets: $(ratio resnet18_one_process resnet18_two_ranks_bucket8); 16 MiB buckets: $(ratio resnet18_one_process resnet18_two_ranks_bucket16)" | tee -a "$summary"
else
  echo "resnet18: skipped, no $resnet18 (/usr/bin/python3 bench/export_train_models.py build/bench-train-models --only resnet18)" | tee -a "$summary"
fi
echo "== summary"
cat "$summary"
[ -z "$out" ] || cp "$summary" "$out"
