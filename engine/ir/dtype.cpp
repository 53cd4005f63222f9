#include "engine/ir/dtype.h"

#include <array>
#include <string>

#include "common/error.h"

namespace mhub::ir {
namespace {

struct TypeInfo {
  std::string_view name;
  int bits;
};

// Indexed by the ONNX code; the static_assert keeps the table and the enum in step.
constexpr std::array<TypeInfo, kMaxDataType + 1> kTypes = {{
    {"undefined", 0},    {"float", 32},         {"uint8", 8},          {"int8", 8},
    {"uint16", 16},      {"int16", 16},         {"int32", 32},         {"int64", 64},
    {"string", 0},       {"bool", 8},           {"float16", 16},       {"double", 64},
    {"uint32", 32},      {"uint64", 64},        {"complex64", 64},     {"complex128", 128},
    {"bfloat16", 16},    {"float8e4m3fn", 8},   {"float8e4m3fnuz", 8}, {"float8e5m2", 8},
    {"float8e5m2fnuz", 8}, {"uint4", 4},        {"int4", 4},           {"float4e2m1", 4},
    {"float8e8m0", 8},   {"uint2", 2},          {"int2", 2},
}};
static_assert(kTypes.size() == static_cast<size_t>(DataType::int2) + 1,
              "every DataType needs a row in kTypes");

}  // namespace

bool is_known(int32_t code) { return code > 0 && code <= kMaxDataType; }

int bits_of(DataType type) {
  auto code = static_cast<int32_t>(type);
  return is_known(code) ? kTypes[code].bits : 0;
}

std::string_view name_of(DataType type) {
  auto code = static_cast<int32_t>(type);
  return (code >= 0 && code <= kMaxDataType) ? kTypes[code].name : "unknown";
}

std::optional<DataType> parse_data_type(std::string_view name) {
  for (int32_t code = 1; code <= kMaxDataType; ++code)
    if (kTypes[code].name == name) return static_cast<DataType>(code);
  if (name == "float32" || name == "fp32") return DataType::float32;
  if (name == "float64") return DataType::float64;
  if (name == "fp16" || name == "half") return DataType::float16;
  if (name == "bf16") return DataType::bfloat16;
  return std::nullopt;
}

bool is_signed_integer(DataType type) {
  switch (type) {
    case DataType::int8: case DataType::int16: case DataType::int32: case DataType::int64:
    case DataType::int4: case DataType::int2:
      return true;
    default:
      return false;
  }
}

bool is_float(DataType type) {
  switch (type) {
    case DataType::float32: case DataType::float16: case DataType::float64:
    case DataType::bfloat16: case DataType::float8e4m3fn: case DataType::float8e4m3fnuz:
    case DataType::float8e5m2: case DataType::float8e5m2fnuz: case DataType::float4e2m1:
    case DataType::float8e8m0:
      return true;
    default:
      return false;
  }
}

uint64_t storage_bytes(DataType type, uint64_t count) {
  constexpr uint64_t kLimit = uint64_t{1} << 62;
  // count comes from files and may be near 2^64: count x bits in 128 bits cannot wrap.
  unsigned __int128 bits = static_cast<unsigned __int128>(count) * static_cast<uint64_t>(bits_of(type));
  if (bits > static_cast<unsigned __int128>(kLimit) * 8)
    throw_error(ErrorCategory::format, std::to_string(count) + " elements of " + std::string(name_of(type)) +
                                           " need more than 2^62 bytes");
  return static_cast<uint64_t>((bits + 7) / 8);
}

}  // namespace mhub::ir
