#!/bin/sh
# Ranks started with different settings stop with a usage error naming the setting (exit 2),
# instead of issuing collectives that do not match.
# Usage: mismatched_ranks.sh MHUB FIXTURE_WRITER SCRATCH MPIRUN [MPIRUN ARGS...] (without -np)
set -u
mhub=$1 writer=$2 dir=$3
shift 3
rm -rf "$dir" && mkdir -p "$dir" || exit 1
"$writer" --write-fixture "$dir" || exit 1
# Rank 1 asks for batches of 5, rank 0 for batches of 4.
"$@" -np 2 sh -c 'exec "$1" finetune "$0/mlp.onnx" --data "$0/data" --batch-size $((4 + OMPI_COMM_WORLD_RANK)) \
    --threads 1 --dist-timeout 30 --out "$0/out.onnx"' "$dir" "$mhub" >"$dir/log" 2>&1
status=$?
cat "$dir/log"
if [ "$status" -ne 2 ] || ! grep -q "the batch size differs" "$dir/log"; then
  echo "FAILED: expected exit 2 and an error naming the batch size, got exit $status"
  exit 1
fi
if [ -e "$dir/out.onnx" ]; then echo "FAILED: a model was written"; exit 1; fi
echo "exit 2 naming the batch size, as expected"
