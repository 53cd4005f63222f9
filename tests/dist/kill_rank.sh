#!/bin/sh
# A rank that stops answering (SIGSTOP) or dies (SIGKILL) mid-run ends the others: never a hang.
# Usage: kill_rank.sh MHUB FIXTURE_WRITER SCRATCH MPIRUN [MPIRUN ARGS...] (without -np)
# 2 ranks train the fixture MLP with --dist-timeout 6 (room for a loaded machine); once rank 0
# has written its first epoch, rank 1 is stopped: the run must end within 30 s with rank 0's
# error naming rank 1 (exit != 0).
# Then the same with rank 1 killed: mpirun notices and ends the job; then --resume goes on,
# and `mhub eval` of the result on 2 ranks prints what one process prints.
set -u
mhub=$1 writer=$2 dir=$3
shift 3
rm -rf "$dir" && mkdir -p "$dir" || exit 1
"$writer" --write-fixture "$dir" || exit 1
fail=0
for signal in STOP KILL; do
  rm -f "$dir"/pid.* "$dir"/out.onnx*
  "$@" -np 2 sh -c 'echo $$ > "$0/pid.$OMPI_COMM_WORLD_RANK"; exec "$1" finetune "$0/mlp.onnx" --data "$0/data" \
      --epochs 100000 --batch-size 4 --threads 1 --dist-timeout 6 --out "$0/out.onnx"' "$dir" "$mhub" >"$dir/log.$signal" 2>&1 &
  launcher=$!
  waited=0
  while [ ! -f "$dir/out.onnx.ckpt.safetensors" ] && [ $waited -lt 600 ]; do sleep 0.1; waited=$((waited + 1)); done
  if [ ! -f "$dir/pid.1" ] || [ ! -f "$dir/out.onnx.ckpt.safetensors" ]; then
    echo "FAILED ($signal): the run did not get through its first epoch"; cat "$dir/log.$signal"
    kill "$launcher" 2>/dev/null; wait "$launcher"; exit 1
  fi
  start=$(date +%s)
  kill -"$signal" "$(cat "$dir/pid.1")"
  # Give the launcher 30 s; past that it hangs: end it and fail. (A polling loop, not a
  # background sleep, which would hold ctest's output open.)
  waited=0
  while kill -0 "$launcher" 2>/dev/null && [ $waited -lt 300 ]; do sleep 0.1; waited=$((waited + 1)); done
  kill -0 "$launcher" 2>/dev/null && kill -KILL "$launcher"
  wait "$launcher"
  status=$?
  kill -KILL "$(cat "$dir/pid.1")" 2>/dev/null  # a stopped rank mpirun left behind
  seconds=$(( $(date +%s) - start ))
  echo "SIG$signal of rank 1: mpirun exit $status after ${seconds} s"
  if [ "$status" -eq 0 ] || [ "$seconds" -ge 30 ]; then echo "FAILED: no error, or not within 30 s"; fail=1; fi
  if [ "$signal" = STOP ] && ! grep -q "rank 1 did not answer" "$dir/log.$signal"; then
    echo "FAILED: rank 0's error does not name rank 1"; fail=1
  fi
  grep -i "error\|rank 1" "$dir/log.$signal" | head -5
done
# A rerun with --resume continues from the last checkpoint the killed run finished (one more epoch).
"$@" -np 2 "$mhub" finetune "$dir/mlp.onnx" --data "$dir/data" --epochs 100000 --stop-after-epochs 1 --batch-size 4 \
    --threads 1 --resume "$dir/out.onnx.ckpt.safetensors" --out "$dir/out.onnx" >"$dir/log.resume" 2>&1
status=$?
grep "^epoch" "$dir/log.resume"
if [ "$status" -ne 0 ] || grep -q "^epoch 1:" "$dir/log.resume" || ! grep -q "^epoch [0-9]*:" "$dir/log.resume"; then
  echo "FAILED: --resume after the kill (exit $status)"; cat "$dir/log.resume"; fail=1
fi
# mhub eval on 2 ranks (shards, counts summed, rank 0 prints) counts what one process counts
# (the mean loss differs in the last digits: other batches, other rounding).
one=$("$mhub" eval "$dir/out.onnx" --data "$dir/data" --threads 1 --json | grep -E '"(examples|accuracy)"')
two=$("$@" -np 2 "$mhub" eval "$dir/out.onnx" --data "$dir/data" --threads 1 --json | grep -E '"(examples|accuracy)"')
if [ -z "$one" ] || [ "$one" != "$two" ]; then
  printf 'FAILED: mhub eval on 2 ranks differs from one process:\n%s\n---\n%s\n' "$one" "$two"; fail=1
fi
exit $fail
