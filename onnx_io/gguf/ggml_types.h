// ggml tensor types as GGUF stores them: the type numbers, the block layout of the quantized
// types this project reads and writes, and their correspondence with ir::DataType.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/ir/dtype.h"

namespace mhub::onnx_io::gguf {

// ggml_type numbers (ggml.h). Only the types listed in kGgmlTypeTable are read or written.
enum class GgmlType : uint32_t {
  f32 = 0, f16 = 1, q4_0 = 2, q8_0 = 8, q4_K = 12, q6_K = 14,
  i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, bf16 = 30,
};

struct GgmlTypeInfo {
  GgmlType type;
  const char* name;          // as llama.cpp prints it: "f32", "q8_0", "q4_K"
  uint32_t block_elements;   // elements per block (1 for the plain types)
  uint32_t block_bytes;      // bytes per block
  ir::DataType plain;        // the matching ir type; undefined for quantized types
};

// nullptr for a type number this project does not know.
const GgmlTypeInfo* ggml_type_info(uint32_t code);
std::optional<GgmlType> ggml_type_of(ir::DataType dtype);  // plain types only
std::optional<GgmlType> parse_ggml_type(std::string_view name);  // "q4_k" and "q4_K" both
bool is_quantized(GgmlType type);

// Bytes of `elements` elements of `type`; throws mhub::Error (format) when `elements` is not a
// multiple of the block size or the size overflows.
uint64_t ggml_bytes(GgmlType type, uint64_t elements);

// general.file_type (llama_ftype) for a file whose large tensors are `type`.
uint32_t llama_file_type(GgmlType type);

}  // namespace mhub::onnx_io::gguf
