#include "engine/cpu/scalar_access.h"

#include <cmath>
#include <cstring>

#include "common/error.h"

namespace mhub::engine::cpu {

float half_to_float(uint16_t bits) {
  uint32_t sign = (bits >> 15) & 1u, exponent = (bits >> 10) & 0x1fu, mantissa = bits & 0x3ffu;
  float magnitude;
  if (exponent == 0) magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  else if (exponent == 31) magnitude = mantissa ? NAN : INFINITY;
  else magnitude = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
  return sign ? -magnitude : magnitude;
}

uint16_t float_to_half(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  uint32_t abs = x & 0x7fffffffu;
  if (abs > 0x7f800000u) return sign | 0x7e00u;       // NaN
  if (abs >= 0x477ff000u) return sign | 0x7c00u;      // rounds to >= 65520: inf
  if (abs < 0x38800000u) {                             // subnormal half (or zero)
    float a;
    std::memcpy(&a, &abs, 4);
    // a * 2^24 rounded to nearest even gives the subnormal mantissa.
    float scaled = std::nearbyint(a * 16777216.0f);
    return sign | static_cast<uint16_t>(scaled);
  }
  uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);  // round to nearest even at bit 13
  return sign | static_cast<uint16_t>(((rounded >> 13) - (112u << 10)) & 0x7fffu);
}

float bfloat16_to_float(uint16_t bits) {
  uint32_t x = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

uint16_t float_to_bfloat16(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

namespace {

template <typename T>
T read_at(const ir::Tensor& t, uint64_t i) {
  T v;
  std::memcpy(&v, t.bytes() + i * sizeof(T), sizeof(T));
  return v;
}

template <typename T>
void write_at(ir::Tensor& t, uint64_t i, T v) {
  std::memcpy(mutable_bytes(t) + i * sizeof(T), &v, sizeof(T));
}

[[noreturn]] void unsupported(const ir::Tensor& t) {
  throw_error(ErrorCategory::unsupported,
              "cpu kernels: element type " + std::string(ir::name_of(t.dtype)) +
                  " is not supported here; convert the tensor to float or an integer type first");
}

}  // namespace

double load_as_double(const ir::Tensor& t, uint64_t i) {
  using D = ir::DataType;
  switch (t.dtype) {
    case D::float32: return read_at<float>(t, i);
    case D::float64: return read_at<double>(t, i);
    case D::float16: return half_to_float(read_at<uint16_t>(t, i));
    case D::bfloat16: return bfloat16_to_float(read_at<uint16_t>(t, i));
    case D::int8: return read_at<int8_t>(t, i);
    case D::uint8: return read_at<uint8_t>(t, i);
    case D::int16: return read_at<int16_t>(t, i);
    case D::uint16: return read_at<uint16_t>(t, i);
    case D::int32: return read_at<int32_t>(t, i);
    case D::uint32: return read_at<uint32_t>(t, i);
    case D::int64: return static_cast<double>(read_at<int64_t>(t, i));
    case D::uint64: return static_cast<double>(read_at<uint64_t>(t, i));
    case D::boolean: return read_at<uint8_t>(t, i) ? 1.0 : 0.0;
    default: unsupported(t);
  }
}

void store_from_double(ir::Tensor& t, uint64_t i, double v) {
  using D = ir::DataType;
  switch (t.dtype) {
    case D::float32: return write_at<float>(t, i, static_cast<float>(v));
    case D::float64: return write_at<double>(t, i, v);
    case D::float16: return write_at<uint16_t>(t, i, float_to_half(static_cast<float>(v)));
    case D::bfloat16: return write_at<uint16_t>(t, i, float_to_bfloat16(static_cast<float>(v)));
    case D::int8: return write_at<int8_t>(t, i, static_cast<int8_t>(v));
    case D::uint8: return write_at<uint8_t>(t, i, static_cast<uint8_t>(v));
    case D::int16: return write_at<int16_t>(t, i, static_cast<int16_t>(v));
    case D::uint16: return write_at<uint16_t>(t, i, static_cast<uint16_t>(v));
    case D::int32: return write_at<int32_t>(t, i, static_cast<int32_t>(v));
    case D::uint32: return write_at<uint32_t>(t, i, static_cast<uint32_t>(v));
    case D::int64: return write_at<int64_t>(t, i, static_cast<int64_t>(v));
    case D::uint64: return write_at<uint64_t>(t, i, static_cast<uint64_t>(v));
    case D::boolean: return write_at<uint8_t>(t, i, v != 0.0 ? 1 : 0);
    default: unsupported(t);
  }
}

int64_t load_int64(const ir::Tensor& t, uint64_t i) {
  using D = ir::DataType;
  switch (t.dtype) {
    case D::int64: return read_at<int64_t>(t, i);
    case D::uint64: return static_cast<int64_t>(read_at<uint64_t>(t, i));
    case D::int32: return read_at<int32_t>(t, i);
    case D::uint32: return read_at<uint32_t>(t, i);
    case D::int16: return read_at<int16_t>(t, i);
    case D::uint16: return read_at<uint16_t>(t, i);
    case D::int8: return read_at<int8_t>(t, i);
    case D::uint8: return read_at<uint8_t>(t, i);
    case D::boolean: return read_at<uint8_t>(t, i) ? 1 : 0;
    default: return static_cast<int64_t>(load_as_double(t, i));
  }
}

void store_int64(ir::Tensor& t, uint64_t i, int64_t v) {
  using D = ir::DataType;
  switch (t.dtype) {
    case D::int64: return write_at<int64_t>(t, i, v);
    case D::uint64: return write_at<uint64_t>(t, i, static_cast<uint64_t>(v));
    case D::int32: return write_at<int32_t>(t, i, static_cast<int32_t>(v));
    case D::uint32: return write_at<uint32_t>(t, i, static_cast<uint32_t>(v));
    case D::int16: return write_at<int16_t>(t, i, static_cast<int16_t>(v));
    case D::uint16: return write_at<uint16_t>(t, i, static_cast<uint16_t>(v));
    case D::int8: return write_at<int8_t>(t, i, static_cast<int8_t>(v));
    case D::uint8: return write_at<uint8_t>(t, i, static_cast<uint8_t>(v));
    case D::boolean: return write_at<uint8_t>(t, i, v != 0 ? 1 : 0);
    default: return store_from_double(t, i, static_cast<double>(v));
  }
}

}  // namespace mhub::engine::cpu
