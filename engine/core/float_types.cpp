#include "engine/core/float_types.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include "common/error.h"

namespace mhub::engine {

namespace {

struct SmallFormat {
  int exponent_bits;
  int mantissa_bits;
  int bias;
  bool has_inf;       // e5m2: exponent all ones, mantissa 0
  bool ieee_nan;      // e5m2: exponent all ones, mantissa != 0
  bool nan_all_ones;  // e4m3fn: S.1111.111 only
  bool nan_neg_zero;  // fnuz kinds: 0x80 is the only NaN, no -0
  int total_bits;
};

SmallFormat format_of(ir::DataType type) {
  switch (type) {
    case ir::DataType::float8e4m3fn: return {4, 3, 7, false, false, true, false, 8};
    case ir::DataType::float8e4m3fnuz: return {4, 3, 8, false, false, false, true, 8};
    case ir::DataType::float8e5m2: return {5, 2, 15, true, true, false, false, 8};
    case ir::DataType::float8e5m2fnuz: return {5, 2, 16, false, false, false, true, 8};
    case ir::DataType::float4e2m1: return {2, 1, 1, false, false, false, false, 4};
    default:
      throw_error(ErrorCategory::internal, "not a small float type: " + std::string(ir::name_of(type)));
  }
}

// Value of a non-negative code, NaN for NaN codes, inf for inf codes.
float decode(const SmallFormat& f, uint8_t code) {
  int exponent_max = (1 << f.exponent_bits) - 1;
  int mantissa_mask = (1 << f.mantissa_bits) - 1;
  int exponent = (code >> f.mantissa_bits) & exponent_max;
  int mantissa = code & mantissa_mask;
  if (f.nan_all_ones && exponent == exponent_max && mantissa == mantissa_mask)
    return std::numeric_limits<float>::quiet_NaN();
  if (f.has_inf && exponent == exponent_max)
    return mantissa == 0 ? std::numeric_limits<float>::infinity()
                         : std::numeric_limits<float>::quiet_NaN();
  if (exponent == 0) return std::ldexp(static_cast<float>(mantissa), 1 - f.bias - f.mantissa_bits);
  return std::ldexp(1.0f + static_cast<float>(mantissa) / static_cast<float>(1 << f.mantissa_bits),
                    exponent - f.bias);
}

// Finite non-negative codes sorted by value (value order equals code order for these formats).
struct Table {
  std::vector<float> values;
  std::vector<uint8_t> codes;
};

const Table& table_for(ir::DataType type) {
  static std::array<Table, 32> tables;
  static std::array<bool, 32> built{};
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  size_t slot = static_cast<size_t>(type);
  if (!built[slot]) {
    SmallFormat f = format_of(type);
    int positive_codes = 1 << (f.total_bits - 1);
    for (int code = 0; code < positive_codes; ++code) {
      float value = decode(f, static_cast<uint8_t>(code));
      if (!std::isfinite(value)) continue;
      tables[slot].values.push_back(value);
      tables[slot].codes.push_back(static_cast<uint8_t>(code));
    }
    built[slot] = true;
  }
  return tables[slot];
}

}  // namespace

float small_float_to_float(ir::DataType type, uint8_t bits) {
  if (type == ir::DataType::float8e8m0) {
    if (bits == 0xff) return std::numeric_limits<float>::quiet_NaN();
    return std::ldexp(1.0f, static_cast<int>(bits) - 127);
  }
  SmallFormat f = format_of(type);
  uint8_t sign_bit = static_cast<uint8_t>(1u << (f.total_bits - 1));
  bits &= static_cast<uint8_t>((1u << f.total_bits) - 1);
  if (f.nan_neg_zero && bits == sign_bit) return std::numeric_limits<float>::quiet_NaN();
  float magnitude = decode(f, bits & static_cast<uint8_t>(sign_bit - 1));
  return (bits & sign_bit) ? -magnitude : magnitude;
}

uint8_t float_to_small_float(ir::DataType type, float value, bool saturate) {
  if (type == ir::DataType::float8e8m0) {
    if (std::isnan(value) || value <= 0) return std::isnan(value) ? 0xff : 0;
    if (std::isinf(value)) return saturate ? 0xfe : 0xff;
    int exponent = 0;
    float mantissa = std::frexp(value, &exponent);  // value = mantissa * 2^exponent, [0.5, 1)
    int e = exponent - 1 + 127;
    if (mantissa > 0.5f) ++e;  // round up to the next power of two (Cast's default mode)
    return static_cast<uint8_t>(std::clamp(e, 0, saturate ? 254 : 255));
  }
  SmallFormat f = format_of(type);
  uint8_t sign_bit = static_cast<uint8_t>(1u << (f.total_bits - 1));
  uint8_t sign = std::signbit(value) ? sign_bit : 0;
  const Table& table = table_for(type);
  uint8_t max_code = table.codes.back();
  uint8_t nan_code = f.nan_neg_zero ? sign_bit
                     : f.ieee_nan   ? static_cast<uint8_t>(0x7f)
                     : f.nan_all_ones ? static_cast<uint8_t>(0x7f)
                                      : max_code;  // float4 has no NaN
  uint8_t inf_code = f.has_inf ? static_cast<uint8_t>(0x7c) : nan_code;
  if (std::isnan(value)) {
    if (f.total_bits == 4) return sign_bit;  // float4e2m1 has no NaN: ONNX maps it to -0
    return f.nan_neg_zero ? sign_bit : static_cast<uint8_t>(nan_code | sign);
  }
  float magnitude = std::fabs(value);
  float max_value = table.values.back();
  float top_step = max_value - table.values[table.values.size() - 2];
  if (std::isinf(value) || magnitude > max_value + top_step / 2) {
    if (saturate || (!f.has_inf && !f.nan_all_ones && !f.nan_neg_zero)) {
      return static_cast<uint8_t>(max_code | sign);
    }
    if (f.nan_neg_zero) return nan_code;
    return static_cast<uint8_t>(inf_code | sign);
  }
  auto it = std::lower_bound(table.values.begin(), table.values.end(), magnitude);
  size_t upper = static_cast<size_t>(it - table.values.begin());
  if (upper >= table.values.size()) upper = table.values.size() - 1;
  size_t chosen = upper;
  if (upper > 0) {
    float below = table.values[upper - 1];
    float above = table.values[upper];
    float to_below = magnitude - below;
    float to_above = above - magnitude;
    if (to_below < to_above || (to_below == to_above && (table.codes[upper - 1] & 1) == 0))
      chosen = upper - 1;
  }
  uint8_t code = table.codes[chosen];
  if (code == 0 && f.nan_neg_zero) return 0;  // no negative zero
  return static_cast<uint8_t>(code | sign);
}

double element_as_double(const ir::Tensor& tensor, size_t index) {
  const uint8_t* base = tensor.bytes();
  auto load = [&](auto sample) {
    using T = decltype(sample);
    T value;
    std::memcpy(&value, base + index * sizeof(T), sizeof(T));
    return value;
  };
  switch (tensor.dtype) {
    case ir::DataType::float32: return load(float{});
    case ir::DataType::float64: return load(double{});
    case ir::DataType::int8: return load(int8_t{});
    case ir::DataType::uint8: return load(uint8_t{});
    case ir::DataType::int16: return load(int16_t{});
    case ir::DataType::uint16: return load(uint16_t{});
    case ir::DataType::int32: return load(int32_t{});
    case ir::DataType::uint32: return load(uint32_t{});
    case ir::DataType::int64: return static_cast<double>(load(int64_t{}));
    case ir::DataType::uint64: return static_cast<double>(load(uint64_t{}));
    case ir::DataType::boolean: return base[index] ? 1.0 : 0.0;
    case ir::DataType::float16: return half_to_float(load(uint16_t{}));
    case ir::DataType::bfloat16: return bfloat16_to_float(load(uint16_t{}));
    case ir::DataType::complex64: {
      float value;
      std::memcpy(&value, base + index * 8, 4);
      return value;
    }
    case ir::DataType::complex128: {
      double value;
      std::memcpy(&value, base + index * 16, 8);
      return value;
    }
    case ir::DataType::float8e4m3fn:
    case ir::DataType::float8e4m3fnuz:
    case ir::DataType::float8e5m2:
    case ir::DataType::float8e5m2fnuz:
    case ir::DataType::float8e8m0:
      return small_float_to_float(tensor.dtype, base[index]);
    case ir::DataType::float4e2m1:
      return small_float_to_float(tensor.dtype, static_cast<uint8_t>((base[index / 2] >> (4 * (index % 2))) & 0xf));
    case ir::DataType::uint4:
      return (base[index / 2] >> (4 * (index % 2))) & 0xf;
    case ir::DataType::int4: {
      int nibble = (base[index / 2] >> (4 * (index % 2))) & 0xf;
      return nibble >= 8 ? nibble - 16 : nibble;
    }
    case ir::DataType::uint2:
      return (base[index / 4] >> (2 * (index % 4))) & 0x3;
    case ir::DataType::int2: {
      int bits = (base[index / 4] >> (2 * (index % 4))) & 0x3;
      return bits >= 2 ? bits - 4 : bits;
    }
    default:
      throw_error(ErrorCategory::internal,
                  "element_as_double: " + std::string(ir::name_of(tensor.dtype)) + " is not numeric");
  }
}

}  // namespace mhub::engine
