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

// "<arch>.context_length", "embedding_length", ... from config.json. Throws mhub::Error (format)
// naming the missing key, unsupported for rope scaling kinds llama.cpp needs extra tensors for.
std::vector<std::pair<std::string, Value>> arch_hyperparameters(Arch arch, const nlohmann::json& config,
                                                                const std::string& source);

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
