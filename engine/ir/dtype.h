// Element types of tensors: the ONNX TensorProto.DataType numbering, so a value read from a file
// is the enum value itself. Sizes are in bits because int4/uint4/int2/uint2/float4 pack several
// elements into one byte (first element in the least significant bits, as ONNX specifies).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mhub::ir {

enum class DataType : int32_t {
  undefined = 0,
  float32 = 1,
  uint8 = 2,
  int8 = 3,
  uint16 = 4,
  int16 = 5,
  int32 = 6,
  int64 = 7,
  string = 8,
  boolean = 9,
  float16 = 10,
  float64 = 11,
  uint32 = 12,
  uint64 = 13,
  complex64 = 14,
  complex128 = 15,
  bfloat16 = 16,
  float8e4m3fn = 17,
  float8e4m3fnuz = 18,
  float8e5m2 = 19,
  float8e5m2fnuz = 20,
  uint4 = 21,
  int4 = 22,
  float4e2m1 = 23,
  float8e8m0 = 24,
  uint2 = 25,
  int2 = 26,
};

inline constexpr int32_t kMaxDataType = 26;

// True for the numbers ONNX has assigned (0 excluded).
bool is_known(int32_t code);
// Bits one element occupies in packed raw storage; 0 for string and undefined.
int bits_of(DataType type);
// ONNX's lower-case name: "float", "float16", "int4", ... ; "undefined(N)" style never returned:
// unknown codes give "unknown".
std::string_view name_of(DataType type);
std::optional<DataType> parse_data_type(std::string_view name);
bool is_signed_integer(DataType type);
bool is_float(DataType type);  // every floating kind, float8/float4 included

// Bytes needed for `count` elements of `type` in packed raw storage (rounded up).
uint64_t storage_bytes(DataType type, uint64_t count);

}  // namespace mhub::ir
