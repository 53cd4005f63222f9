// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear.
//
// Scale layouts: per-tensor (scalar or one element), per-axis (1-D of x.dims[axis]) and blocked
// (same rank as x, dims[axis] = ceil(x.dims[axis] / block_size)). Quantized element types: the
// 8/16-bit integers, packed int4/uint4/int2/uint2, and the float8 / float4 kinds (encoded by
// round-to-nearest-even against a table of the format's finite values, with `saturate`).
#include <algorithm>
#include <cmath>
#include <limits>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

using D = ir::DataType;

// ---- small floats (float8 kinds, float4e2m1) -------------------------------------------------

struct MiniFloat {
  int exponent_bits, mantissa_bits, bias;
  bool has_inf;      // e5m2: exponent all ones + mantissa 0 is inf
  bool nan_all_ones; // e4m3fn: all ones (exponent and mantissa) is NaN
  bool unsigned_zero_nan;  // fnuz kinds: the "negative zero" code is the only NaN
  bool has_nan;
};

const MiniFloat* minifloat(D t) {
  static const MiniFloat e4m3fn{4, 3, 7, false, true, false, true};
  static const MiniFloat e4m3fnuz{4, 3, 8, false, false, true, true};
  static const MiniFloat e5m2{5, 2, 15, true, false, false, true};
  static const MiniFloat e5m2fnuz{5, 2, 16, false, false, true, true};
  static const MiniFloat e2m1{2, 1, 1, false, false, false, false};
  switch (t) {
    case D::float8e4m3fn: return &e4m3fn;
    case D::float8e4m3fnuz: return &e4m3fnuz;
    case D::float8e5m2: return &e5m2;
    case D::float8e5m2fnuz: return &e5m2fnuz;
    case D::float4e2m1: return &e2m1;
    default: return nullptr;
  }
}

int total_bits(const MiniFloat& f) { return 1 + f.exponent_bits + f.mantissa_bits; }

// Value of the positive code `magnitude` (sign bit clear); NaN/inf for special codes.
double decode_magnitude(const MiniFloat& f, uint32_t magnitude) {
  uint32_t exponent_max = (1u << f.exponent_bits) - 1;
  uint32_t mantissa = magnitude & ((1u << f.mantissa_bits) - 1);
  uint32_t exponent = magnitude >> f.mantissa_bits;
  if (f.nan_all_ones && exponent == exponent_max && mantissa == (1u << f.mantissa_bits) - 1) return NAN;
  if (f.has_inf && exponent == exponent_max) return mantissa ? NAN : INFINITY;
  if (exponent == 0) return std::ldexp(static_cast<double>(mantissa), 1 - f.bias - f.mantissa_bits);
  return std::ldexp(1.0 + std::ldexp(static_cast<double>(mantissa), -f.mantissa_bits),
                    static_cast<int>(exponent) - f.bias);
}

double decode(const MiniFloat& f, uint32_t code) {
  uint32_t sign_bit = 1u << (total_bits(f) - 1);
  if (f.unsigned_zero_nan && code == sign_bit) return NAN;
  double m = decode_magnitude(f, code & (sign_bit - 1));
  return (code & sign_bit) ? -m : m;
}

uint32_t encode(const MiniFloat& f, double x, bool saturate) {
  uint32_t sign_bit = 1u << (total_bits(f) - 1);
  uint32_t nan_code = f.unsigned_zero_nan ? sign_bit : (f.has_inf ? 0x7f : (sign_bit - 1));
  if (std::isnan(x)) return f.has_nan ? nan_code : 0;
  uint32_t sign = std::signbit(x) ? sign_bit : 0;
  double a = std::fabs(x);
  // Largest finite magnitude code.
  uint32_t max_code = sign_bit - 1;
  while (!std::isfinite(decode_magnitude(f, max_code))) --max_code;
  double max_value = decode_magnitude(f, max_code);
  uint32_t result;
  if (a > max_value) {
    // Values that still round to max (within half an ulp) are not overflow.
    double ulp = max_value - decode_magnitude(f, max_code - 1);
    if (saturate || (std::isfinite(a) && a < max_value + ulp / 2)) result = max_code;
    else if (f.has_inf) result = max_code + 1;  // inf
    else return f.has_nan ? (f.unsigned_zero_nan ? nan_code : (sign | nan_code)) : max_code;
  } else {
    uint32_t low = 0;  // largest code with value <= a
    while (low < max_code && decode_magnitude(f, low + 1) <= a) ++low;
    result = low;
    if (low < max_code && decode_magnitude(f, low) != a) {
      double below = a - decode_magnitude(f, low), above = decode_magnitude(f, low + 1) - a;
      if (above < below || (above == below && (low & 1u))) result = low + 1;
    }
  }
  if (f.unsigned_zero_nan && result == 0) return 0;  // no negative zero
  return sign | result;
}

// ---- element access for quantized types ------------------------------------------------------

bool is_packed_int(D t) { return t == D::int4 || t == D::uint4 || t == D::int2 || t == D::uint2; }

uint32_t packed_code(const ir::Tensor& t, uint64_t i, int bits) {
  int per_byte = 8 / bits;
  uint8_t byte = t.bytes()[i / per_byte];
  return (byte >> ((i % per_byte) * bits)) & ((1u << bits) - 1);
}

void store_packed(ir::Tensor& t, uint64_t i, int bits, uint32_t code) {
  int per_byte = 8 / bits;
  uint8_t& byte = mutable_bytes(t)[i / per_byte];
  int shift = static_cast<int>(i % per_byte) * bits;
  uint8_t mask = static_cast<uint8_t>(((1u << bits) - 1) << shift);
  byte = static_cast<uint8_t>((byte & ~mask) | ((code << shift) & mask));
}

double load_quantized(const ir::Tensor& t, uint64_t i) {
  if (const MiniFloat* f = minifloat(t.dtype)) {
    int bits = total_bits(*f);
    uint32_t code = bits == 8 ? t.bytes()[i] : packed_code(t, i, bits);
    return decode(*f, code);
  }
  if (is_packed_int(t.dtype)) {
    int bits = ir::bits_of(t.dtype);
    int32_t v = static_cast<int32_t>(packed_code(t, i, bits));
    if (ir::is_signed_integer(t.dtype) && (v & (1 << (bits - 1)))) v -= 1 << bits;
    return v;
  }
  return load_as_double(t, i);
}

void integer_range(D t, double& lo, double& hi) {
  switch (t) {
    case D::int8: lo = -128; hi = 127; return;
    case D::uint8: lo = 0; hi = 255; return;
    case D::int16: lo = -32768; hi = 32767; return;
    case D::uint16: lo = 0; hi = 65535; return;
    case D::int32: lo = -2147483648.0; hi = 2147483647.0; return;
    case D::int4: lo = -8; hi = 7; return;
    case D::uint4: lo = 0; hi = 15; return;
    case D::int2: lo = -2; hi = 1; return;
    case D::uint2: lo = 0; hi = 3; return;
    default: lo = 0; hi = 0; return;
  }
}

// Stores an already scaled value: integers round half to even and clamp.
void store_quantized(ir::Tensor& t, uint64_t i, double v, bool saturate) {
  if (const MiniFloat* f = minifloat(t.dtype)) {
    int bits = total_bits(*f);
    uint32_t code = encode(*f, v, saturate);
    if (bits == 8) mutable_bytes(t)[i] = static_cast<uint8_t>(code);
    else store_packed(t, i, bits, code);
    return;
  }
  double lo, hi;
  integer_range(t.dtype, lo, hi);
  double q = std::clamp(std::nearbyint(v), lo, hi);
  if (is_packed_int(t.dtype)) {
    int bits = ir::bits_of(t.dtype);
    store_packed(t, i, bits, static_cast<uint32_t>(static_cast<int32_t>(q)) & ((1u << bits) - 1));
    return;
  }
  store_from_double(t, i, q);
}

// ---- scale layout ----------------------------------------------------------------------------

// For element i of x, the index into scale / zero point.
struct ScaleIndex {
  enum class Mode { tensor, axis, blocked } mode = Mode::tensor;
  uint64_t axis_size = 1, inner = 1;  // x.dims[axis], product of dims after axis
  int64_t block = 0;
  uint64_t scale_axis_size = 1;

  uint64_t operator()(uint64_t i) const {
    if (mode == Mode::tensor) return 0;
    uint64_t a = (i / inner) % axis_size;
    if (mode == Mode::axis) return a;
    uint64_t outer = i / (inner * axis_size);
    return (outer * scale_axis_size + a / static_cast<uint64_t>(block)) * inner + i % inner;
  }
};

ScaleIndex scale_index(OpContext& ctx, const ir::Tensor& x, const ir::Tensor& scale) {
  ScaleIndex s;
  if (scale.numel() == 1 && scale.dims.size() <= 1) return s;
  int64_t rank = static_cast<int64_t>(x.dims.size());
  const int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", 1), rank);
  s.axis_size = static_cast<uint64_t>(x.dims[axis]);
  for (int64_t d = axis + 1; d < rank; ++d) s.inner *= static_cast<uint64_t>(x.dims[d]);
  s.block = ctx.node().attr_int("block_size", 0);
  if (s.block > 0) {
    s.mode = ScaleIndex::Mode::blocked;
    if (static_cast<int64_t>(scale.dims.size()) != rank)
      throw_error(ErrorCategory::format, ctx.describe() + ": blocked quantization needs a scale of the input's rank");
    s.scale_axis_size = static_cast<uint64_t>(scale.dims[axis]);
    if (static_cast<int64_t>(s.scale_axis_size) != (x.dims[axis] + s.block - 1) / s.block)
      throw_error(ErrorCategory::format, ctx.describe() + ": scale dim on the axis must be ceil(dim / block_size)");
    return s;
  }
  s.mode = ScaleIndex::Mode::axis;
  if (scale.dims.size() != 1 || scale.dims[0] != x.dims[axis])
    throw_error(ErrorCategory::format, ctx.describe() + ": per-axis scale must be 1-D with the axis' size");
  return s;
}

void quantize_linear(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& scale = ctx.input(1);
  const ir::Tensor* zero = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  D out_type = D::uint8;
  if (zero) out_type = zero->dtype;
  else if (int64_t t = ctx.node().attr_int("output_dtype", 0); t != 0) out_type = static_cast<D>(t);
  bool saturate = ctx.node().attr_int("saturate", 1) != 0;
  ScaleIndex index = scale_index(ctx, x, scale);
  ir::Tensor& y = ctx.allocate_output(0, out_type, x.dims);
  uint64_t n = x.numel();
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t s = index(i);
    double zp = zero ? load_quantized(*zero, s) : 0.0;
    // Divide in float like the reference so ties land where the suite expects them.
    float scaled = static_cast<float>(load_as_double(x, i)) / static_cast<float>(load_as_double(scale, s));
    if (minifloat(out_type)) store_quantized(y, i, static_cast<double>(scaled) + zp, saturate);
    else store_quantized(y, i, std::nearbyint(static_cast<double>(scaled)) + zp, saturate);
  }
}

void dequantize_linear(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& scale = ctx.input(1);
  const ir::Tensor* zero = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  ScaleIndex index = scale_index(ctx, x, scale);
  D out_type = scale.dtype;
  if (int64_t t = ctx.node().attr_int("output_dtype", 0); t != 0) out_type = static_cast<D>(t);
  ir::Tensor& y = ctx.allocate_output(0, out_type, x.dims);
  uint64_t n = x.numel();
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t s = index(i);
    double zp = zero ? load_quantized(*zero, s) : 0.0;
    float v = static_cast<float>(load_quantized(x, i) - zp) * static_cast<float>(load_as_double(scale, s));
    store_from_double(y, i, v);
  }
}

// uint8 quantization with scale = (max(0,x) - min(0,x)) / 255 and a rounded zero point.
void dynamic_quantize_linear(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  uint64_t n = x.numel();
  float lo = 0.0f, hi = 0.0f;
  for (uint64_t i = 0; i < n; ++i) {
    float v = static_cast<float>(load_as_double(x, i));
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  float scale = (hi - lo) / 255.0f;
  float zero_point = scale != 0.0f ? std::clamp(std::nearbyint(0.0f - lo / scale), 0.0f, 255.0f) : 0.0f;
  ir::Tensor& y = ctx.allocate_output(0, D::uint8, x.dims);
  for (uint64_t i = 0; i < n; ++i) {
    float v = scale != 0.0f ? std::nearbyint(static_cast<float>(load_as_double(x, i)) / scale) + zero_point : zero_point;
    mutable_bytes(y)[i] = static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f));
  }
  ir::Tensor& s = ctx.allocate_output(1, D::float32, {});
  *reinterpret_cast<float*>(mutable_bytes(s)) = scale;
  ir::Tensor& z = ctx.allocate_output(2, D::uint8, {});
  mutable_bytes(z)[0] = static_cast<uint8_t>(zero_point);
}

}  // namespace

void add_quantize_kernels(std::vector<KernelDef>& table) {
  using O = ir::OpKind;
  table.push_back({O::QuantizeLinear, KernelKind::reference, quantize_linear, nullptr});
  table.push_back({O::DequantizeLinear, KernelKind::reference, dequantize_linear, nullptr});
  table.push_back({O::DynamicQuantizeLinear, KernelKind::reference, dynamic_quantize_linear, nullptr});
}

}  // namespace mhub::engine::cpu
