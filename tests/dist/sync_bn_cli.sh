#!/bin/sh
# `mpirun -np 2 mhub finetune … --sync-bn` through the command line equals one process with the
# global batch: the BatchNorm CNN fixture (80 examples, .npy) for one epoch, 2 ranks x batch 4
# against 1 process x batch 8 (10 steps each, the same seeded shuffle: the ranks' shards of each
# global batch are the single process's batch). Both ranks must end (mpirun exit 0), rank 0 must
# write the model, and every float initializer of it (parameters and BatchNorm running
# statistics) must equal the single process's within a relative 1e-5 (docs/DISTRIBUTED.md).
# Without --sync-bn the same comparison must fail (local running statistics), so the test can tell.
# Usage: sync_bn_cli.sh MHUB FIXTURE_TOOL SCRATCH MPIRUN [MPIRUN ARGS...] (without -np)
set -u
mhub=$1 tool=$2 dir=$3
shift 3
rm -rf "$dir" && mkdir -p "$dir" || exit 1
"$tool" --write-fixture "$dir" || exit 1
# The same fine-tuning in every run; the batch size and --sync-bn vary.
common="--epochs 1 --lr 0.05 --seed 3 --threads 1 --dist-timeout 30"
fail=0
"$mhub" finetune "$dir/cnn.onnx" --data "$dir/data" $common --batch-size 8 --out "$dir/one.onnx" >"$dir/log.one" 2>&1 || { echo "FAILED: 1 process"; cat "$dir/log.one"; exit 1; }
for sync in --sync-bn ""; do
  rm -f "$dir/two.onnx"
  "$@" -np 2 "$mhub" finetune "$dir/cnn.onnx" --data "$dir/data" $common --batch-size 4 $sync --out "$dir/two.onnx" >"$dir/log.two" 2>&1
  status=$?
  grep "^epoch\|ranks over" "$dir/log.two"
  if [ "$status" -ne 0 ] || [ ! -f "$dir/two.onnx" ]; then
    echo "FAILED: 2 ranks ${sync:-without --sync-bn}: mpirun exit $status, model written: $([ -f "$dir/two.onnx" ] && echo yes || echo no)"
    cat "$dir/log.two"; exit 1
  fi
  "$tool" --compare "$dir/two.onnx" "$dir/one.onnx"
  status=$?
  if [ -n "$sync" ] && [ "$status" -ne 0 ]; then echo "FAILED: 2 ranks --sync-bn differ from 1 process x batch 8"; fail=1; fi
  if [ -z "$sync" ] && [ "$status" -ne 1 ]; then echo "FAILED: without --sync-bn the runs should differ (else this test cannot tell)"; fail=1; fi
done
exit $fail
