// `mhub convert HF_FOLDER out.gguf`: a Hugging Face causal-LM checkpoint folder (config.json,
// *.safetensors or pytorch_model*.bin, tokenizer.json / tokenizer.model, tokenizer_config.json,
// generation_config.json) as a GGUF file that llama.cpp and ollama load, as llama.cpp's
// convert_hf_to_gguf.py (+ llama-quantize --pure for the k-quants) would write it:
// general.* keys, the architecture's hyperparameters (hf_arch.h), the tokenizer
// (hf_tokenizer.h), tensors renamed, permuted/transposed and stored in `outtype`.
//
// Tensor types: 1-D tensors, norms and position embeddings stay f32; every other tensor is
// `outtype`. A tensor whose rows do not split into `outtype`'s blocks falls back, as
// llama.cpp does: q4_K/q6_K to q8_0 (rows of 32), then f16. Each fallback is reported.
// Tensors are converted and written one at a time (memory: the mapped checkpoint plus one tensor).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "onnx_io/gguf/ggml_types.h"

namespace mhub::onnx_io::gguf {

struct HfToGgufOptions {
  GgmlType outtype = GgmlType::f16;  // f32, f16, bf16, q8_0, q4_0, q4_K, q6_K
  std::string name;                  // general.name; default: the folder's name
};

struct HfToGgufReport {
  std::string architecture;
  size_t tensors = 0;
  uint64_t bytes = 0;                            // tensor data written
  std::map<std::string, size_t> type_counts;     // "q8_0" -> tensors
  std::vector<std::string> fallbacks;            // "blk.0.ffn_down.weight: q4_K -> q8_0 (rows of 96)"
  std::string tokenizer_model;                   // "gpt2" / "llama"
  size_t vocab_size = 0;
};

// Throws mhub::Error: usage (not a checkpoint folder, an outtype not offered), unsupported
// (architecture, tensor names, tokenizer), format (malformed files), io.
HfToGgufReport convert_hf_to_gguf(const std::filesystem::path& folder, const std::filesystem::path& output,
                                  const HfToGgufOptions& options);

// True when `path` is a folder holding config.json (what `mhub convert` dispatches on).
bool is_hf_checkpoint_folder(const std::filesystem::path& path);

}  // namespace mhub::onnx_io::gguf
