#!/bin/bash
# ctest peers.gguf_llama_cpp: mhub's GGUF as llama.cpp itself reads it.
#   llama_cpp_test.sh MHUB SCRATCH_DIR
# For a tiny random llama (RMSNorm, RoPE, SwiGLU, GQA), the same with a SentencePiece
# tokenizer.model (MQA), with that SentencePiece model as tokenizer.json only, with linear and
# with Llama 3.1's rope_scaling (rope_freqs), qwen2 (q/k/v biases), qwen2 with YaRN rope_scaling and GPT-2, built
# here with Debian's PyTorch
# (make_tiny_checkpoint.py; byte-level BPE tokenizer.json otherwise): `mhub convert
# FOLDER x.gguf --outtype T`, then llama.cpp (npm node-llama-cpp, prebuilt) loads x.gguf, must
# tokenize the prompt to tokenizer.json's ids, choose the PyTorch model's greedy tokens and give
# logits within a tolerance (llama_cpp_check.mjs). Exit 77 (skipped) only when node-llama-cpp
# cannot be installed (npm unreachable) or Debian's python3-torch / python3-sentencepiece is missing.
set -euo pipefail
mhub=$1
scratch=$2
here=$(cd "$(dirname "$0")" && pwd)
module=$("$here/install_node_llama_cpp.sh") || { echo "skipped: npm node-llama-cpp could not be installed"; exit 77; }
/usr/bin/python3 -c "import torch, numpy, sentencepiece" 2>/dev/null ||
  { echo "skipped: Debian's python3-torch or python3-sentencepiece is not installed (scripts/install-deps.sh)"; exit 77; }
rm -rf "$scratch" && mkdir -p "$scratch"

# arch: outtype:steps that must match exactly:max |logit difference|. The logits are O(5) here;
# llama.cpp keeps its KV cache in f16 and quantizes activations for quantized weights, so even f32
# differs by ~0.007 (measured: f32 0.007, f16 0.013, bf16 0.09, q8_0 0.22-0.34, q6_k 0.74,
# q4_k 2.5, q4_0 2.6-3.5).
# f32/f16/bf16 must reproduce the whole greedy continuation; the quantized types their first tokens.
declare -A plans=(
  [llama]="f32:all:0.02 f16:all:0.05 bf16:all:0.3 q8_0:3:0.5 q6_k:3:1 q4_k:1:4 q4_0:1:5"
  [llama-spm]="f32:all:0.02 f16:all:0.05 q8_0:3:0.5"
  [llama-spm-json]="f32:all:0.02"
  [llama-linear]="f32:all:0.02"
  [llama3-rope]="f32:all:0.02 f16:all:0.05"
  [qwen2]="f32:all:0.02 f16:all:0.05 q8_0:3:0.5"
  [qwen2-yarn]="f32:all:0.02"
  [gpt2]="f32:all:0.02 f16:all:0.05 q8_0:3:0.5 q4_0:1:5"
)
archs=(llama llama-spm llama-spm-json llama-linear llama3-rope qwen2 qwen2-yarn gpt2)
/usr/bin/python3 "$here/make_tiny_checkpoint.py" "$scratch" "${archs[@]}"
specs=()
for arch in "${archs[@]}"; do
  for plan in ${plans[$arch]}; do
    IFS=: read -r type steps tolerance <<<"$plan"
    "$mhub" convert "$scratch/$arch" "$scratch/$arch-$type.gguf" --outtype "$type" 2>/dev/null >/dev/null
    specs+=("$scratch/$arch-$type.gguf:$scratch/$arch/reference.json:$steps:$tolerance")
  done
done
node "$here/llama_cpp_check.mjs" "$module" "${specs[@]}"
