#!/bin/bash
# Node-by-node comparison of mhub with ONNX Runtime on one model: per op family, the sum of
# mhub's per-node minima over the sum of ORT's, and the nodes where mhub loses most.
# The two engines alternate, ROUNDS times RUNS runs each (default 5 x 30), and every node's time
# is its least over all of them, so other work on the machine shows less; still, on a loaded
# machine the figures are hints of where to look, not speeds.
# Usage: bench/node_compare.sh MODEL BATCH [--rounds R] [--runs N] [--threads T] [--dim NAME]
#                              [--mhub BINARY] [--keep DIR] [--json]
#   --dim NAME: the model's batch dimension (default "batch"; suite.tsv's third column).
#   --keep DIR: keep the raw JSON of each round there (default: a temporary folder).
# Exit 77 when the ONNX Runtime peer is not installed.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -ge 2 ] || { sed -n '2,11p' "$0"; exit 2; }
model="$1"; batch="$2"; shift 2
rounds=5; runs=30; threads=2; dim=batch; mhub="$here/build/cli/mhub"; keep=""; json=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --dim) dim="$2"; shift 2 ;;
    --mhub) mhub="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --json) json="--json"; shift ;;
    *) echo "node_compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$model" ] || { echo "node_compare.sh: no model $model" >&2; exit 2; }
[ -x "$mhub" ] || { echo "node_compare.sh: no mhub binary at $mhub (build it, or pass --mhub)" >&2; exit 2; }
peers="$HOME/.cache/mhub-peers/node_modules"
if [ ! -d "$peers/onnxruntime-node" ] || ! command -v node >/dev/null; then
  echo "SKIP: ONNX Runtime peer not installed ($peers/onnxruntime-node); run $here/../shared/peers/install.sh"
  exit 77
fi
if [ -n "$keep" ]; then out="$keep"; mkdir -p "$out"; rm -f "$out"/ort_*.json "$out"/mhub_*.json
else out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT; fi
for r in $(seq 1 "$rounds"); do
  NODE_PATH="$peers" node "$here/bench/ort_node_profile.js" "$model" --threads "$threads" --runs "$runs" \
    --dim "$dim=$batch" > "$out/ort_$r.json"
  "$mhub" bench "$model" --batch "$batch" --threads "$threads" --iters "$runs" --profile --json --top 0 > "$out/mhub_$r.json"
done
/usr/bin/python3 "$here/bench/node_compare.py" "$out" $json
