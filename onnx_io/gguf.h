// GGUF v3 (the llama.cpp / ggml weight format) for unquantized weights.
//
// Layout written: "GGUF", version 3, tensor count, metadata count; metadata key/values
// (general.architecture, general.alignment, general.name when given, then the weights map's own
// metadata as strings); tensor infos in map order (name, dims innermost first as ggml counts
// them, ggml type, offset into the data section); zero padding to the alignment; tensor data,
// each tensor starting at a multiple of the alignment.
//
// Types: float32, float16, bfloat16, float64, int8, int16, int32, int64 (ggml has no unsigned or
// bool tensors: those throw mhub::Error unsupported). The reader exists to check the writer and
// for `mhub inspect`; it maps the file and rejects anything out of bounds (format).
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

// Metadata values of scalar and string types come back as text ("32", "mhub"); arrays as
// "[array of N]". Quantized tensor types are refused (unsupported).
WeightsMap read_gguf(const std::filesystem::path& path);
WeightsMap parse_gguf(std::shared_ptr<const void> owner, const uint8_t* data, size_t size, const std::string& source);

}  // namespace mhub::onnx_io
