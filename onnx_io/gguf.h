// GGUF v3 (the llama.cpp / ggml weight format) as a weights map: what `mhub convert` uses for
// weights-only conversions (.safetensors/.pth/.onnx <-> .gguf). Hugging Face checkpoints for
// llama.cpp go through onnx_io/gguf/hf_to_gguf.h instead (hyperparameters, tokenizer, names).
//
// Writing: "GGUF", version 3, general.architecture, general.alignment, general.name when given,
// then the map's metadata as strings (a key without a '.' namespace gets "mhub." in front, as
// GGUF keys are namespaced); tensor infos in map order; each tensor at a multiple of the alignment.
// Types: float32, float16, bfloat16, float64, int8, int16, int32, int64 as themselves. GGUF has
// no unsigned or bool tensor types: uint8 and bool are widened to i16/i8, uint16 to i32, uint32
// to i64 (values kept), and "mhub.dtype.<tensor>" records the original type so that mhub reads
// them back as they were; uint64 and other types throw mhub::Error (unsupported).
//
// Reading: the plain types as themselves; quantized tensors (q8_0, q4_0, q4_K, q6_K) dequantized
// to float32 (ggml's dequantize_row_*). Metadata values as text (arrays as "[N strings]").
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "onnx_io/weights_map.h"

namespace mhub::onnx_io {

struct GgufOptions {
  std::string architecture = "mhub";  // general.architecture (required by GGUF readers)
  std::string name;                   // general.name; omitted when empty
  uint32_t alignment = 32;            // general.alignment; a power of two
};

std::string serialize_gguf(const WeightsMap& weights, const GgufOptions& options = {});
void write_gguf(const WeightsMap& weights, const std::filesystem::path& path, const GgufOptions& options = {});

WeightsMap read_gguf(const std::filesystem::path& path);
WeightsMap parse_gguf(std::shared_ptr<const void> owner, const uint8_t* data, size_t size, const std::string& source);

}  // namespace mhub::onnx_io
