// Cast and CastLike between every ONNX element type: numbers, bool, float16/bfloat16, the
// float8 kinds (saturate attribute), 4- and 2-bit packed types (wrapping), and strings.
//
// Each element goes through one Scalar (an exact integer for integer sources, a double for
// float sources), so int64 values above 2^53 survive int-to-int casts.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "engine/core/float_types.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/tensor_util.h"

namespace mhub::engine::cpu {

namespace {

struct Scalar {
  bool is_integer = false;
  bool is_unsigned = false;
  int64_t i = 0;
  uint64_t u = 0;
  double d = 0;

  double as_double() const { return is_integer ? (is_unsigned ? static_cast<double>(u) : static_cast<double>(i)) : d; }
  // Integers convert exactly; floats truncate toward zero, NaN gives 0, out of range clamps.
  int64_t as_int64() const {
    if (is_integer) return is_unsigned ? static_cast<int64_t>(u) : i;
    if (std::isnan(d)) return 0;
    if (d >= 9.2233720368547758e18) return std::numeric_limits<int64_t>::max();
    if (d <= -9.2233720368547758e18) return std::numeric_limits<int64_t>::min();
    return static_cast<int64_t>(d);
  }
  uint64_t as_uint64() const {
    if (is_integer) return is_unsigned ? u : static_cast<uint64_t>(i);
    if (std::isnan(d) || d <= 0) return d <= -1 ? static_cast<uint64_t>(static_cast<int64_t>(d)) : 0;
    if (d >= 1.8446744073709552e19) return std::numeric_limits<uint64_t>::max();
    return static_cast<uint64_t>(d);
  }
};

Scalar parse_string(const OpContext& ctx, const std::string& text) {
  Scalar s;
  const char* begin = text.c_str();
  char* end = nullptr;
  s.d = std::strtod(begin, &end);
  if (end == begin)
    throw_error(ErrorCategory::format, ctx.describe() + ": cannot cast the string \"" + text + "\" to a number");
  return s;
}

Scalar read(const OpContext& ctx, const ir::Tensor& x, size_t index) {
  Scalar s;
  switch (x.dtype) {
    case ir::DataType::string: return parse_string(ctx, x.strings[index]);
    case ir::DataType::int8: case ir::DataType::int16: case ir::DataType::int32: case ir::DataType::int64:
    case ir::DataType::int4: case ir::DataType::int2:
      s.is_integer = true;
      if (x.dtype == ir::DataType::int64) s.i = x.data<int64_t>()[index];
      else s.i = static_cast<int64_t>(element_as_double(x, index));
      return s;
    case ir::DataType::uint8: case ir::DataType::uint16: case ir::DataType::uint32: case ir::DataType::uint64:
    case ir::DataType::uint4: case ir::DataType::uint2: case ir::DataType::boolean:
      s.is_integer = s.is_unsigned = true;
      if (x.dtype == ir::DataType::uint64) s.u = x.data<uint64_t>()[index];
      else s.u = static_cast<uint64_t>(element_as_double(x, index));
      return s;
    default:
      s.d = element_as_double(x, index);
      return s;
  }
}

std::string to_text(const Scalar& s, ir::DataType source) {
  if (s.is_integer) return s.is_unsigned ? std::to_string(s.u) : std::to_string(s.i);
  if (std::isnan(s.d)) return "NaN";
  if (std::isinf(s.d)) return s.d > 0 ? "INF" : "-INF";
  char buffer[64];
  std::to_chars_result result;
  if (source == ir::DataType::float64)
    result = std::to_chars(buffer, buffer + sizeof buffer, s.d);
  else
    result = std::to_chars(buffer, buffer + sizeof buffer, static_cast<float>(s.d));
  return std::string(buffer, result.ptr);
}

template <typename T>
void put(uint8_t* out, size_t index, T value) {
  std::memcpy(out + index * sizeof(T), &value, sizeof(T));
}

template <typename T>
T clamp_int(const Scalar& s) {
  int64_t v = s.as_int64();
  if (v < static_cast<int64_t>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
  if (v > static_cast<int64_t>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

void write(ir::Tensor& y, size_t index, const Scalar& s, bool saturate, ir::DataType source) {
  uint8_t* out = mutable_bytes(y);
  switch (y.dtype) {
    case ir::DataType::float32: put(out, index, static_cast<float>(s.as_double())); break;
    case ir::DataType::float64: put(out, index, s.as_double()); break;
    case ir::DataType::float16: put(out, index, float_to_half(static_cast<float>(s.as_double()))); break;
    case ir::DataType::bfloat16: put(out, index, float_to_bfloat16(static_cast<float>(s.as_double()))); break;
    case ir::DataType::float8e4m3fn: case ir::DataType::float8e4m3fnuz:
    case ir::DataType::float8e5m2: case ir::DataType::float8e5m2fnuz: case ir::DataType::float8e8m0:
      out[index] = float_to_small_float(y.dtype, static_cast<float>(s.as_double()), saturate);
      break;
    case ir::DataType::float4e2m1: {
      uint8_t nibble = float_to_small_float(y.dtype, static_cast<float>(s.as_double()), saturate) & 0xf;
      out[index / 2] |= static_cast<uint8_t>(nibble << (4 * (index % 2)));
      break;
    }
    // Like the wider integer casts, 4- and 2-bit targets wrap: the value keeps its low bits.
    case ir::DataType::int4: case ir::DataType::uint4: {
      int64_t v = s.is_integer ? s.as_int64() : static_cast<int64_t>(std::nearbyint(s.as_double()));
      out[index / 2] |= static_cast<uint8_t>((v & 0xf) << (4 * (index % 2)));
      break;
    }
    case ir::DataType::int2: case ir::DataType::uint2: {
      int64_t v = s.is_integer ? s.as_int64() : static_cast<int64_t>(std::nearbyint(s.as_double()));
      out[index / 4] |= static_cast<uint8_t>((v & 0x3) << (2 * (index % 4)));
      break;
    }
    // Integer targets wrap like C casts for integer sources (numpy behaviour).
    case ir::DataType::int8: put(out, index, static_cast<int8_t>(s.as_int64())); break;
    case ir::DataType::int16: put(out, index, static_cast<int16_t>(s.as_int64())); break;
    case ir::DataType::int32: put(out, index, static_cast<int32_t>(s.as_int64())); break;
    case ir::DataType::int64: put(out, index, s.as_int64()); break;
    case ir::DataType::uint8: put(out, index, static_cast<uint8_t>(s.as_uint64())); break;
    case ir::DataType::uint16: put(out, index, static_cast<uint16_t>(s.as_uint64())); break;
    case ir::DataType::uint32: put(out, index, static_cast<uint32_t>(s.as_uint64())); break;
    case ir::DataType::uint64: put(out, index, s.as_uint64()); break;
    case ir::DataType::boolean:
      out[index] = s.is_integer ? (s.is_unsigned ? s.u != 0 : s.i != 0) : (s.d != 0);
      break;
    case ir::DataType::string: y.strings[index] = to_text(s, source); break;
    default: break;
  }
}

// float32 <-> bfloat16, the casts of mixed-precision graphs (autocast.h's Cast form: every
// activation and weight of a matrix op, every step). The bit arithmetic of ir::float_to_bfloat16 /
// bfloat16_to_float (round to nearest even, NaN kept quiet, subnormals kept), written inline so
// the loops vectorise; one clone per ISA level as elementwise.cpp's span functions.
__attribute__((target_clones("avx2", "default"))) void floats_to_bf16_span(const float* in, uint16_t* out, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    uint32_t bits;
    std::memcpy(&bits, in + i, sizeof bits);
    const uint32_t rounded = (bits + 0x7fff + ((bits >> 16) & 1)) >> 16;
    const uint32_t quiet_nan = (bits >> 16) | 0x40;
    out[i] = static_cast<uint16_t>((bits & 0x7fffffff) > 0x7f800000 ? quiet_nan : rounded);
  }
}

__attribute__((target_clones("avx2", "default"))) void bf16_to_floats_span(const uint16_t* in, float* out, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    const uint32_t bits = static_cast<uint32_t>(in[i]) << 16;
    std::memcpy(out + i, &bits, sizeof bits);
  }
}

// Cast / CastLike float32 -> bfloat16 or bfloat16 -> float32, threaded (supports checks the pair);
// cast_kernel's per-element path is its reference twin.
void cast_float_bf16_fast(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const size_t n = x.numel();
  if (x.dtype == ir::DataType::float32) {
    ir::Tensor& y = ctx.allocate_output(0, ir::DataType::bfloat16, x.dims);
    const float* in = x.data<float>();
    uint16_t* out = mutable_data<uint16_t>(y);
    ctx.threads().parallel_for(n, 1 << 15, [&](size_t s, size_t e) { floats_to_bf16_span(in + s, out + s, e - s); });
    return;
  }
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, x.dims);
  const uint16_t* in = x.data<uint16_t>();
  float* out = mutable_data<float>(y);
  ctx.threads().parallel_for(n, 1 << 15, [&](size_t s, size_t e) { bf16_to_floats_span(in + s, out + s, e - s); });
}

bool cast_float_bf16_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  if (types.empty()) return false;
  ir::DataType to = ir::DataType::undefined;
  if (node.op == ir::OpKind::Cast) to = static_cast<ir::DataType>(node.attr_int("to", 0));
  else if (types.size() >= 2) to = types[1];
  return (types[0] == ir::DataType::float32 && to == ir::DataType::bfloat16) ||
         (types[0] == ir::DataType::bfloat16 && to == ir::DataType::float32);
}

void cast_to(OpContext& ctx, ir::DataType to) {
  const ir::Tensor& x = ctx.input(0);
  if (!ir::is_known(static_cast<int32_t>(to)) || to == ir::DataType::complex64 || to == ir::DataType::complex128)
    throw_error(ErrorCategory::unsupported, ctx.describe() + ": cannot cast to " + std::string(ir::name_of(to)));
  if (x.dtype == to) {
    copy_to_output(ctx, 0, x, x.dims);
    return;
  }
  ir::Tensor& y = ctx.allocate_output(0, to, x.dims);
  size_t n = x.numel();
  if (ir::bits_of(to) < 8 && y.byte_size()) std::memset(mutable_bytes(y), 0, y.byte_size());
  bool saturate = ctx.node().attr_int("saturate", 1) != 0;
  // Fast paths for the casts models use every day.
  if (x.dtype == ir::DataType::float32 && to == ir::DataType::int64) {
    const float* in = x.data<float>();
    int64_t* out = mutable_data<int64_t>(y);
    for (size_t i = 0; i < n; ++i) out[i] = std::isnan(in[i]) ? 0 : static_cast<int64_t>(in[i]);
    return;
  }
  if (x.dtype == ir::DataType::int64 && to == ir::DataType::float32) {
    const int64_t* in = x.data<int64_t>();
    float* out = mutable_data<float>(y);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]);
    return;
  }
  for (size_t i = 0; i < n; ++i) write(y, i, read(ctx, x, i), saturate, x.dtype);
}

void cast_kernel(OpContext& ctx) {
  const ir::Attribute* to = ctx.node().attribute("to");
  if (!to) throw_error(ErrorCategory::format, ctx.describe() + ": attribute 'to' is missing");
  cast_to(ctx, static_cast<ir::DataType>(to->i));
}

void cast_like_kernel(OpContext& ctx) { cast_to(ctx, ctx.input(1).dtype); }

}  // namespace

void add_cast_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Cast, KernelKind::reference, cast_kernel, nullptr});
  table.push_back({ir::OpKind::CastLike, KernelKind::reference, cast_like_kernel, nullptr});
  table.push_back({ir::OpKind::Cast, KernelKind::fast, cast_float_bf16_fast, cast_float_bf16_supports});
  table.push_back({ir::OpKind::CastLike, KernelKind::fast, cast_float_bf16_fast, cast_float_bf16_supports});
}

}  // namespace mhub::engine::cpu
