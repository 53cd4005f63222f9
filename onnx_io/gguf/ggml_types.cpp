#include "onnx_io/gguf/ggml_types.h"

#include <cctype>

#include "common/error.h"

namespace mhub::onnx_io::gguf {

namespace {

using ir::DataType;

// Block layouts (ggml-common.h): q4_0 = f16 d + 16 nibble bytes; q8_0 = f16 d + 32 int8;
// q4_K = f16 d, f16 dmin, 12 packed 6-bit scales/mins, 128 nibble bytes; q6_K = 128 low-nibble
// bytes, 64 high-bit bytes, 16 int8 scales, f16 d.
constexpr GgmlTypeInfo kTable[] = {
    {GgmlType::f32, "f32", 1, 4, DataType::float32},     {GgmlType::f16, "f16", 1, 2, DataType::float16},
    {GgmlType::q4_0, "q4_0", 32, 18, DataType::undefined}, {GgmlType::q8_0, "q8_0", 32, 34, DataType::undefined},
    {GgmlType::q4_K, "q4_K", 256, 144, DataType::undefined}, {GgmlType::q6_K, "q6_K", 256, 210, DataType::undefined},
    {GgmlType::i8, "i8", 1, 1, DataType::int8},           {GgmlType::i16, "i16", 1, 2, DataType::int16},
    {GgmlType::i32, "i32", 1, 4, DataType::int32},        {GgmlType::i64, "i64", 1, 8, DataType::int64},
    {GgmlType::f64, "f64", 1, 8, DataType::float64},      {GgmlType::bf16, "bf16", 1, 2, DataType::bfloat16},
};

}  // namespace

const GgmlTypeInfo* ggml_type_info(uint32_t code) {
  for (const auto& info : kTable)
    if (static_cast<uint32_t>(info.type) == code) return &info;
  return nullptr;
}

std::optional<GgmlType> ggml_type_of(ir::DataType dtype) {
  for (const auto& info : kTable)
    if (info.plain == dtype && dtype != DataType::undefined) return info.type;
  return std::nullopt;
}

std::optional<GgmlType> parse_ggml_type(std::string_view name) {
  auto lower = [](std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  for (const auto& info : kTable)
    if (lower(info.name) == lower(name)) return info.type;
  return std::nullopt;
}

bool is_quantized(GgmlType type) { return ggml_type_info(static_cast<uint32_t>(type))->block_elements > 1; }

uint64_t ggml_bytes(GgmlType type, uint64_t elements) {
  const GgmlTypeInfo* info = ggml_type_info(static_cast<uint32_t>(type));
  if (!info) throw Error(ErrorCategory::internal, "unknown ggml type " + std::to_string(static_cast<uint32_t>(type)));
  if (elements % info->block_elements != 0)
    throw Error(ErrorCategory::format, std::string(info->name) + " needs a multiple of " +
                                           std::to_string(info->block_elements) + " elements per row, not " +
                                           std::to_string(elements));
  uint64_t blocks = elements / info->block_elements;
  if (blocks > UINT64_MAX / info->block_bytes) throw Error(ErrorCategory::format, "tensor size overflows");
  return blocks * info->block_bytes;
}

uint32_t llama_file_type(GgmlType type) {
  switch (type) {  // llama_ftype: ALL_F32 0, MOSTLY_F16 1, Q4_0 2, Q8_0 7, Q4_K_S 14, Q6_K 18, BF16 32
    case GgmlType::f32: return 0;
    case GgmlType::f16: return 1;
    case GgmlType::q4_0: return 2;
    case GgmlType::q8_0: return 7;
    case GgmlType::q4_K: return 14;
    case GgmlType::q6_K: return 18;
    case GgmlType::bf16: return 32;
    default: return 0;
  }
}

}  // namespace mhub::onnx_io::gguf
