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
  clang libclang-rt-14-dev libminizip-dev ccache
  nginx openssl curl bc
  python3-torch python3-torchvision python3-onnx python3-numpy python3-pil dataset-fashion-mnist
  python3
)
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
