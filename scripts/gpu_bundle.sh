#!/usr/bin/env bash
# Packs what the GPU check needs on a lent device machine, which has CUDA, cuDNN (PyTorch's
# wheels) and PyTorch but none of mhub's Debian libraries and no network: the mhub binary and
# the GPU tests built here (CUDA backend included), every shared library they load that is
# neither glibc's nor CUDA's, the ONNX backend suite from ../shared, and the benchmark scripts.
# Writes gpu-bundle/bundle.tar.xz (ignored by git; carried by the device call):
#   scripts/gpu_bundle.sh && <device run, carry gpu-bundle> bash scripts/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/cli/mhub ] && [ -x build/tests/mhub_cuda_tests ] ||
  { echo "build first (scripts/build.sh) on a machine with the CUDA toolkit" >&2; exit 1; }
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib" "$stage/suite" gpu-bundle
cp build/cli/mhub build/tests/mhub_cuda_tests "$stage/bin/"
# glibc and the CUDA/driver libraries come from the device machine itself.
skip='^(libc|libm|libdl|librt|libpthread|ld-linux-x86-64|libcuda|libcudart|libcublas|libcublasLt|libcudnn[a-z_]*|libnvrtc|libnvJitLink)\.so'
for binary in "$stage"/bin/*; do
  ldd "$binary" | awk '/=> \//{print $3}'
done | sort -u | while read -r library; do
  name=$(basename "$library")
  [[ "$name" =~ $skip ]] || cp -L "$library" "$stage/lib/$name"
done
suite=../shared/onnx-backend-tests
for part in node pytorch-converted pytorch-operator simple light; do
  [ -d "$suite/$part" ] && cp -r "$suite/$part" "$stage/suite/"
done
[ -f ../shared/peers/export_models.py ] && cp ../shared/peers/export_models.py "$stage/"
tar cJf gpu-bundle/bundle.tar.xz -C "$stage" .
ls -la gpu-bundle/bundle.tar.xz
