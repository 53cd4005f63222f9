// Hugging Face transformer architectures as llama.cpp names them: which config.json keys give
// which GGUF hyperparameters, and how checkpoint tensor names map to llama.cpp's
// (token_embd, blk.N.attn_q, ..., output), with the per-tensor rewrites llama.cpp's converter
// applies (llama's rotary q/k row permutation, GPT-2's transposed Conv1D weights).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "onnx_io/gguf/container.h"

namespace mhub::onnx_io::gguf {

enum class Arch { llama, qwen2, gpt2 };

// The architecture of a config.json (its "architectures" list, else "model_type"): llama for
// LlamaForCausalLM / MistralForCausalLM (TinyLlama, Mistral), qwen2, gpt2. Throws mhub::Error
// (unsupported) naming what it found otherwise.
Arch arch_of_config(const nlohmann::json& config, const std::string& source);
const char* arch_name(Arch arch);  // "llama", "qwen2", "gpt2" (general.architecture)

// "<arch>.context_length", "embedding_length", ... from config.json. config.json's rope_scaling
// as convert_hf_to_gguf.py writes it: linear -> rope.scaling.type "linear" + factor; yarn ->
// type "yarn", factor, original_context_length (llama.cpp's YaRN with HF's default beta_fast 32,
// beta_slow 1 and attention factor 0.1 ln(factor) + 1); llama3 -> no keys, the rope_freqs.weight
// tensor (rope_frequency_factors). Throws mhub::Error (format) naming a missing or bad key,
// unsupported for scaling llama.cpp cannot express (dynamic, longrope, yarn with other betas or
// attention factor, llama3 for qwen2).
std::vector<std::pair<std::string, Value>> arch_hyperparameters(Arch arch, const nlohmann::json& config,
                                                                const std::string& source);

// rope_scaling type llama3 (Llama 3.1+): the per-frequency divisors llama.cpp reads from the
// rope_freqs.weight tensor ([rope dimensions / 2] float32), computed as transformers'
// _compute_llama3_parameters scales inv_freq: 1 for short wavelengths (< original context /
// high_freq_factor), factor for long ones (> original context / low_freq_factor), a smooth blend
// between. Empty for every other config. Throws mhub::Error (format) for bad parameters.
std::vector<float> rope_frequency_factors(Arch arch, const nlohmann::json& config, const std::string& source);

// What to do with one checkpoint tensor.
struct TensorPlan {
  std::string gguf_name;         // empty: the tensor is dropped (buffers such as GPT-2's attn.bias)
  bool transpose = false;        // GPT-2 Conv1D weights are stored [in, out]
  int permute_heads = 0;         // llama q/k: reorder rows for ggml's rotary layout (heads to use)
  bool keep_f32 = false;         // norms, biases, position embeddings: never quantized
};

// Throws mhub::Error (unsupported) for a name the map does not know (as llama.cpp's converter:
// a tensor silently left out would make a model that loads and computes garbage).
TensorPlan plan_tensor(Arch arch, const nlohmann::json& config, const std::string& hf_name, size_t rank);

// Rows of a [rows, cols] llama q/k projection reordered as convert_hf_to_gguf.py's permute():
// within each of `heads` groups, row (half j, index i) moves to position (i, j).
void permute_rotary_rows(const float* in, float* out, int64_t rows, int64_t cols, int heads);

}  // namespace mhub::onnx_io::gguf
