#!/bin/sh
# Which transport `mpirun -np 2 mhub finetune --device cuda` gets, and the clear error where it
# cannot run. Usage: nccl_transport.sh HAVE_NCCL(0|1) MHUB FIXTURE_WRITER SCRATCH MPIRUN [ARGS...] (without -np)
# - a build with NCCL, no GPU (this CI machine): --device cuda on 2 ranks picks NCCL (--dist auto)
#   and both ranks stop with exit 7 (unsupported) saying NCCL needs a CUDA device; so does
#   --dist nccl in one process. No model is written.
# - a build with NCCL and >= 2 GPUs: the 2 ranks train one epoch over NCCL (exit 0, "2 ranks over nccl").
#   With one GPU: skipped (NCCL refuses two ranks on one device).
# - a build without NCCL: --dist nccl is a usage error (exit 2) naming what the build has.
set -u
have_nccl=$1 mhub=$2 writer=$3 dir=$4
shift 4
here=$(dirname "$0")
rm -rf "$dir" && mkdir -p "$dir" || exit 1
"$writer" --write-fixture "$dir" || exit 1
set -- "$@" -np 2 "$mhub" finetune "$dir/mlp.onnx" --data "$dir/data" --epochs 1 --batch-size 4 --threads 1 --dist-timeout 30 --out "$dir/out.onnx"
if [ "$have_nccl" != 1 ]; then
  exec "$here/../expect_exit.sh" 2 "this build has no NCCL" "$@" --dist nccl
fi
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
if [ "$gpus" -ge 2 ]; then
  exec "$here/../expect_exit.sh" 0 "2 ranks over nccl" "$@" --device cuda
elif [ "$gpus" -eq 1 ]; then
  echo "skipped: one GPU (NCCL needs one per rank)"; exit 77
fi
fail=0
"$here/../expect_exit.sh" 7 "NCCL transport .* needs a CUDA device" "$@" --device cuda || fail=1
"$here/../expect_exit.sh" 7 "NCCL transport .* needs a CUDA device" "$mhub" finetune "$dir/mlp.onnx" --data "$dir/data" \
    --threads 1 --dist nccl --out "$dir/out.onnx" || fail=1
if [ -e "$dir/out.onnx" ]; then echo "FAILED: a model was written"; fail=1; fi
exit $fail
