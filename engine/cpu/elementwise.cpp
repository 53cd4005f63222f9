// Elementwise ops on one input: float math (Exp, Log, Sqrt, trig, Erf, Sigmoid, Tanh...),
// ops that also take integers (Abs, Neg, Sign, Relu, Clip), Not, IsNaN, IsInf.
// float16/bfloat16 compute in float. Loops are flat over contiguous data so they vectorise.
#include <cmath>
#include <limits>
#include <type_traits>

#include "engine/core/float_types.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/epilogue.h"
#include "engine/cpu/fast_math.h"
#include "engine/cpu/tensor_util.h"

namespace mhub::engine::cpu {

namespace {

enum class Math {
  exp, log, sqrt, reciprocal, floor, ceil, round, sin, cos, tan, asin, acos, atan, sinh, cosh,
  asinh, acosh, atanh, erf, sigmoid, tanh, abs, neg, sign, relu,
};

template <typename T>
T apply(Math kind, T x) {
  if constexpr (std::is_floating_point_v<T>) {
    switch (kind) {
      case Math::exp: return std::exp(x);
      case Math::log: return std::log(x);
      case Math::sqrt: return std::sqrt(x);
      case Math::reciprocal: return T(1) / x;
      case Math::floor: return std::floor(x);
      case Math::ceil: return std::ceil(x);
      case Math::round: return std::nearbyint(x);  // ties to even (default rounding mode)
      case Math::sin: return std::sin(x);
      case Math::cos: return std::cos(x);
      case Math::tan: return std::tan(x);
      case Math::asin: return std::asin(x);
      case Math::acos: return std::acos(x);
      case Math::atan: return std::atan(x);
      case Math::sinh: return std::sinh(x);
      case Math::cosh: return std::cosh(x);
      case Math::asinh: return std::asinh(x);
      case Math::acosh: return std::acosh(x);
      case Math::atanh: return std::atanh(x);
      case Math::erf: return std::erf(x);
      case Math::sigmoid: return x >= 0 ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
      case Math::tanh: return std::tanh(x);
      case Math::abs: return std::fabs(x);
      case Math::neg: return -x;
      case Math::sign: return std::isnan(x) ? x : T((x > 0) - (x < 0));
      case Math::relu: return x > 0 || std::isnan(x) ? x : T(0);
    }
  } else {
    switch (kind) {
      case Math::abs:
        if constexpr (std::is_signed_v<T>) return x < 0 ? static_cast<T>(-x) : x;
        else return x;
      case Math::neg: return static_cast<T>(-x);
      case Math::sign:
        if constexpr (std::is_signed_v<T>) return static_cast<T>((x > 0) - (x < 0));
        else return static_cast<T>(x > 0);
      case Math::relu:
        if constexpr (std::is_signed_v<T>) return x > 0 ? x : T(0);
        else return x;
      default: return x;
    }
  }
  return x;
}

bool integer_ok(Math kind) {
  return kind == Math::abs || kind == Math::neg || kind == Math::sign || kind == Math::relu;
}

template <typename T>
void map_typed(OpContext& ctx, Math kind, const ir::Tensor& x, ir::Tensor& y) {
  const T* in = x.data<T>();
  T* out = mutable_data<T>(y);
  size_t n = x.numel();
  ctx.threads().parallel_for(n, kMinParallelElements, [&](size_t s, size_t e) {
    switch (kind) {  // the common ones get their own branch-free loop so they vectorise
      case Math::relu:  // !(x <= 0) keeps NaN
        for (size_t i = s; i < e; ++i) out[i] = !(in[i] <= T(0)) ? in[i] : T(0);
        break;
      case Math::neg:
        for (size_t i = s; i < e; ++i) out[i] = static_cast<T>(-in[i]);
        break;
      case Math::abs:
        if constexpr (std::is_floating_point_v<T>)
          for (size_t i = s; i < e; ++i) out[i] = std::fabs(in[i]);
        else
          for (size_t i = s; i < e; ++i) out[i] = apply(Math::abs, in[i]);
        break;
      default: for (size_t i = s; i < e; ++i) out[i] = apply(kind, in[i]);
    }
  });
}

void map_any(OpContext& ctx, Math kind, const ir::Tensor& x, ir::Tensor& y) {
  switch (x.dtype) {
    case ir::DataType::float32: return map_typed<float>(ctx, kind, x, y);
    case ir::DataType::float64: return map_typed<double>(ctx, kind, x, y);
    case ir::DataType::float16:
    case ir::DataType::bfloat16: {
      ir::Tensor wide = widen_to_float(ctx, x);
      ir::Tensor result = ctx.scope().allocate(ir::DataType::float32, x.dims);
      map_typed<float>(ctx, kind, wide, result);
      narrow_from_float(result, y);
      return;
    }
    default: break;
  }
  if (integer_ok(kind)) {
    switch (x.dtype) {
      case ir::DataType::int8: return map_typed<int8_t>(ctx, kind, x, y);
      case ir::DataType::int16: return map_typed<int16_t>(ctx, kind, x, y);
      case ir::DataType::int32: return map_typed<int32_t>(ctx, kind, x, y);
      case ir::DataType::int64: return map_typed<int64_t>(ctx, kind, x, y);
      case ir::DataType::uint8: return map_typed<uint8_t>(ctx, kind, x, y);
      case ir::DataType::uint16: return map_typed<uint16_t>(ctx, kind, x, y);
      case ir::DataType::uint32: return map_typed<uint32_t>(ctx, kind, x, y);
      case ir::DataType::uint64: return map_typed<uint64_t>(ctx, kind, x, y);
      default: break;
    }
  }
  throw_error(ErrorCategory::unsupported,
              ctx.describe() + ": element type " + std::string(ir::name_of(x.dtype)) + " is not supported");
}

template <Math kind>
void unary(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  map_any(ctx, kind, x, y);
}

void not_kernel(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::boolean, x.dims);
  const uint8_t* in = x.data<uint8_t>();
  uint8_t* out = mutable_bytes(y);
  for (size_t i = 0; i < x.numel(); ++i) out[i] = in[i] ? 0 : 1;
}

template <bool is_nan>
void float_test(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::boolean, x.dims);
  uint8_t* out = mutable_bytes(y);
  bool negative = ctx.node().attr_int("detect_negative", 1) != 0;
  bool positive = ctx.node().attr_int("detect_positive", 1) != 0;
  for (size_t i = 0; i < x.numel(); ++i) {
    double v = element_as_double(x, i);
    if (is_nan) out[i] = std::isnan(v);
    else out[i] = std::isinf(v) && ((v > 0 && positive) || (v < 0 && negative));
  }
}

template <typename T>
void clip_typed(const OpContext& ctx, const ir::Tensor& x, ir::Tensor& y, T low, T high) {
  const T* in = x.data<T>();
  T* out = mutable_data<T>(y);
  for (size_t i = 0; i < x.numel(); ++i) {
    T v = in[i];
    if constexpr (std::is_floating_point_v<T>)
      if (std::isnan(v)) {
        out[i] = v;
        continue;
      }
    v = v < low ? low : v;
    out[i] = v > high ? high : v;  // min > max: everything becomes max, as ONNX specifies
  }
}

void clip_kernel(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  bool legacy = ctx.opset() < 11;
  auto bound = [&](size_t input, const char* attr, double fallback) {
    if (legacy) return static_cast<double>(ctx.node().attr_float(attr, static_cast<float>(fallback)));
    if (ctx.has_input(input) && ctx.input(input).numel() > 0) return element_as_double(ctx.input(input), 0);
    return fallback;
  };
  constexpr double inf = std::numeric_limits<double>::infinity();
  double low = bound(1, "min", -inf), high = bound(2, "max", inf);
  auto clamp_to = [](double v, auto sample) {
    using T = decltype(sample);
    if constexpr (std::is_integral_v<T>) {
      if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
      if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    }
    return static_cast<T>(v);
  };
  switch (x.dtype) {
    case ir::DataType::float32: return clip_typed<float>(ctx, x, y, clamp_to(low, float{}), clamp_to(high, float{}));
    case ir::DataType::float64: return clip_typed<double>(ctx, x, y, low, high);
    case ir::DataType::int8: return clip_typed<int8_t>(ctx, x, y, clamp_to(low, int8_t{}), clamp_to(high, int8_t{}));
    case ir::DataType::int16: return clip_typed<int16_t>(ctx, x, y, clamp_to(low, int16_t{}), clamp_to(high, int16_t{}));
    case ir::DataType::int32: return clip_typed<int32_t>(ctx, x, y, clamp_to(low, int32_t{}), clamp_to(high, int32_t{}));
    case ir::DataType::int64: {
      // int64 bounds may not fit a double exactly: read them as integers
      int64_t lo = std::numeric_limits<int64_t>::lowest(), hi = std::numeric_limits<int64_t>::max();
      if (!legacy && ctx.has_input(1) && ctx.input(1).numel()) lo = ctx.input(1).data<int64_t>()[0];
      if (!legacy && ctx.has_input(2) && ctx.input(2).numel()) hi = ctx.input(2).data<int64_t>()[0];
      return clip_typed<int64_t>(ctx, x, y, lo, hi);
    }
    case ir::DataType::uint8: return clip_typed<uint8_t>(ctx, x, y, clamp_to(low, uint8_t{}), clamp_to(high, uint8_t{}));
    case ir::DataType::uint16: return clip_typed<uint16_t>(ctx, x, y, clamp_to(low, uint16_t{}), clamp_to(high, uint16_t{}));
    case ir::DataType::uint32: return clip_typed<uint32_t>(ctx, x, y, clamp_to(low, uint32_t{}), clamp_to(high, uint32_t{}));
    case ir::DataType::uint64: return clip_typed<uint64_t>(ctx, x, y, clamp_to(low, uint64_t{}), clamp_to(high, uint64_t{}));
    case ir::DataType::float16:
    case ir::DataType::bfloat16: {
      ir::Tensor wide = widen_to_float(ctx, x);
      ir::Tensor result = ctx.scope().allocate(ir::DataType::float32, x.dims);
      clip_typed<float>(ctx, wide, result, static_cast<float>(low), static_cast<float>(high));
      narrow_from_float(result, y);
      return;
    }
    default:
      throw_error(ErrorCategory::unsupported, ctx.describe() + ": element type " +
                                                  std::string(ir::name_of(x.dtype)) + " is not supported");
  }
}

bool float32_input(const ir::Node&, std::span<const ir::DataType> types) {
  return !types.empty() && types[0] == ir::DataType::float32;
}

// Vectorised float32 Exp and Erf (fast_math.h; Sigmoid and Tanh spans are epilogue.h's); the reference
// kernels use libm.
// Each span function is compiled twice (AVX2 and baseline x86-64) and picked at load time,
// so one binary runs everywhere and uses 8-wide vectors where the CPU has them.
#define MHUB_SPAN_FN(name, fn)                                                     \
  __attribute__((target_clones("avx2", "default"))) void name(            \
      const float* in, float* out, size_t count) {                                \
    for (size_t i = 0; i < count; ++i) out[i] = fn(in[i]);                        \
  }
MHUB_SPAN_FN(exp_span, fast_exp)
MHUB_SPAN_FN(erf_span, fast_erf)
#undef MHUB_SPAN_FN

template <void (*span)(const float*, float*, size_t)>
void fast_float_map(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  const float* in = x.data<float>();
  float* out = mutable_data<float>(y);
  ctx.threads().parallel_for(x.numel(), kMinParallelElements, [&](size_t s, size_t e) { span(in + s, out + s, e - s); });
}

}  // namespace

void add_elementwise_kernels(std::vector<KernelDef>& table) {
  using ir::OpKind;
  auto add = [&](OpKind op, KernelFn fn) { table.push_back({op, KernelKind::reference, fn, nullptr}); };
  add(OpKind::Relu, unary<Math::relu>);
  add(OpKind::Abs, unary<Math::abs>);
  add(OpKind::Neg, unary<Math::neg>);
  add(OpKind::Sign, unary<Math::sign>);
  add(OpKind::Exp, unary<Math::exp>);
  add(OpKind::Log, unary<Math::log>);
  add(OpKind::Sqrt, unary<Math::sqrt>);
  add(OpKind::Reciprocal, unary<Math::reciprocal>);
  add(OpKind::Floor, unary<Math::floor>);
  add(OpKind::Ceil, unary<Math::ceil>);
  add(OpKind::Round, unary<Math::round>);
  add(OpKind::Sin, unary<Math::sin>);
  add(OpKind::Cos, unary<Math::cos>);
  add(OpKind::Tan, unary<Math::tan>);
  add(OpKind::Asin, unary<Math::asin>);
  add(OpKind::Acos, unary<Math::acos>);
  add(OpKind::Atan, unary<Math::atan>);
  add(OpKind::Sinh, unary<Math::sinh>);
  add(OpKind::Cosh, unary<Math::cosh>);
  add(OpKind::Asinh, unary<Math::asinh>);
  add(OpKind::Acosh, unary<Math::acosh>);
  add(OpKind::Atanh, unary<Math::atanh>);
  add(OpKind::Erf, unary<Math::erf>);
  add(OpKind::Sigmoid, unary<Math::sigmoid>);
  add(OpKind::Tanh, unary<Math::tanh>);
  add(OpKind::Not, not_kernel);
  add(OpKind::IsNaN, float_test<true>);
  add(OpKind::IsInf, float_test<false>);
  add(OpKind::Clip, clip_kernel);
  table.push_back({OpKind::Exp, KernelKind::fast, fast_float_map<exp_span>, float32_input});
  table.push_back({OpKind::Erf, KernelKind::fast, fast_float_map<erf_span>, float32_input});
  table.push_back({OpKind::Sigmoid, KernelKind::fast, fast_float_map<sigmoid_span>, float32_input});
  table.push_back({OpKind::Tanh, KernelKind::fast, fast_float_map<tanh_span>, float32_input});
}

}  // namespace mhub::engine::cpu
