#!/usr/bin/env bash
# The GPU check, run ON a lent device machine (no network, none of mhub's Debian libraries) from
# the bundle scripts/gpu_bundle.sh made here:
#   1. mhub devices, then the GPU op specs (mhub_cuda_tests: every CUDA kernel against the CPU
#      reference kernels);
#   2. mhub conformance on the ONNX backend suite with --device cpu and --device cuda;
#   3. timings: mhub bench --device cuda (fp32, TF32) and PyTorch (bench/gpu_bench_torch.py,
#      eager; GPU_CHECK_COMPILE=1 adds torch.compile) on ResNet-50 and a BERT-size encoder.
# Logs and JSON go to $OUT (the device tool brings them back); a short table is printed last.
# GPU_CHECK_STEPS="tests conformance bench" chooses steps (default: all three).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu-check-out}
mkdir -p "$out"
work=/tmp/mhub-gpu
rm -rf "$work" && mkdir -p "$work" && tar xJf gpu-bundle/bundle.tar.xz -C "$work" || { echo "no bundle: run scripts/gpu_bundle.sh first"; exit 1; }
steps=${GPU_CHECK_STEPS:-tests conformance bench}
# cuDNN / cuBLAS / the CUDA runtime: PyTorch's NVIDIA wheels, then the toolkit.
nvidia_dirs=$(python3 - <<'PY'
import glob, os
try:
    import nvidia
    roots = list(nvidia.__path__)
except Exception:
    roots = []
dirs = set()
for root in roots:
    for pattern in ("libcudnn.so*", "libcublas*.so*", "libcudart.so*", "libnvrtc*.so*", "libnvJitLink*.so*"):
        for path in glob.glob(os.path.join(root, "**", pattern), recursive=True):
            dirs.add(os.path.dirname(path))
print(":".join(sorted(dirs)))
PY
)
libs="$work/lib:$nvidia_dirs:/usr/local/cuda/lib64:/usr/local/cuda/lib"
# A wrapper, so `timeout` can run mhub with the bundle's libraries. No OpenMP wait policy here:
# mhub picks its own at start from the machine's load (engine/core/openmp_environment.h), and a
# policy in the environment would override that choice.
printf '#!/bin/sh\nLD_LIBRARY_PATH="%s" exec "%s/bin/mhub" "$@"\n' "$libs" "$work" >"$work/mhub"
chmod +x "$work/mhub"
mhub() { "$work/mhub" "$@"; }
summary=()
nvidia-smi -L 2>&1 | tee "$out/nvidia-smi.txt"
mhub devices 2>&1 | tee "$out/devices.txt"

if [[ " $steps " == *" tests "* ]]; then
  MHUB_SOURCE_DIR="$PWD" LD_LIBRARY_PATH="$libs" timeout 300 "$work/bin/mhub_cuda_tests" >"$out/gpu_tests.txt" 2>&1
  status=$?
  tail -25 "$out/gpu_tests.txt"
  summary+=("gpu op specs: exit $status, $(grep -E '^\[doctest\] test cases' "$out/gpu_tests.txt" | tail -1)")
fi

if [[ " $steps " == *" conformance "* ]]; then
  for part in node pytorch-converted pytorch-operator simple light; do
    [ -d "$work/suite/$part" ] || continue
    for device in cpu cuda; do
      timeout 240 "$work/mhub" conformance "$work/suite/$part" --device $device --json \
        >"$out/conformance-$part-$device.json" 2>"$out/conformance-$part-$device.err"
    done
    counts=$(python3 - "$out/conformance-$part-cpu.json" "$out/conformance-$part-cuda.json" <<'PY'
import json, sys
def counts(path):
    try:
        d = json.load(open(path))
        return "%d/%d" % (d["passed"], d["passed"] + d["failed"])
    except Exception:
        error = open(path[:-len(".json")] + ".err").read().strip().splitlines()
        return "failed (%s)" % (error[-1][:120] if error else "no output")
print("cpu %s, cuda %s" % (counts(sys.argv[1]), counts(sys.argv[2])))
PY
)
    summary+=("conformance $part: $counts")
  done
fi

if [[ " $steps " == *" bench "* ]]; then
  models=/tmp/mhub-gpu-models
  timeout 240 python3 bench/gpu_bench_torch.py export "$models" >"$out/export.txt" 2>&1
  for batch in 1 256; do
    for tf32 in 0 1; do
      result=$(MHUB_CUDA_TF32=$tf32 timeout 180 "$work/mhub" bench "$models/resnet50.onnx" --device cuda --batch $batch --iters 20 --json 2>>"$out/bench-mhub.err")
      echo "$result" >>"$out/bench-mhub.jsonl"
      summary+=("mhub resnet50 b$batch tf32=$tf32: $(echo "$result" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read() or "{}"); print("%.2f ms" % d["median_ms"] if "median_ms" in d else "failed")' 2>/dev/null || echo failed)")
    done
  done
  result=$(timeout 180 "$work/mhub" bench "$models/bert_base_like.onnx" --device cuda --batch 32 --dim seq=128 --iters 20 --json 2>>"$out/bench-mhub.err")
  echo "$result" >>"$out/bench-mhub.jsonl"
  summary+=("mhub bert b32 seq128: $(echo "$result" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read() or "{}"); print("%.2f ms" % d["median_ms"] if "median_ms" in d else "failed")' 2>/dev/null || echo failed)")
  timeout 420 python3 bench/gpu_bench_torch.py bench ${GPU_CHECK_COMPILE:+--compile} --quick >"$out/bench-torch.jsonl" 2>"$out/bench-torch.err"
  while read -r line; do summary+=("torch: $line"); done < <(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    print("%s %s %s %s b%d: %.2f ms" % (d["model"], d["task"], d["precision"], d["mode"], d["batch"], d["ms"]))
' "$out/bench-torch.jsonl" 2>/dev/null)
fi

echo "== summary"
printf '%s\n' "${summary[@]}"
