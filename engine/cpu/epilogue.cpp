#include "engine/cpu/epilogue.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"
#include "engine/cpu/fast_math.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/tensor_util.h"
#include "engine/ops/fused_activation.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

// GELU through erfc, so both tails keep their relative precision: for x < 0 the result is
// 0.5 * x * erfc(|x| / sqrt 2) (tiny, never 1 - almost 1), for x >= 0 it is x minus that
// (fast_math.h's erfc fit, fractional error below 1.2e-7).
[[gnu::always_inline]] inline float fast_gelu(float x) {
  float erfc = fast_erfc_nonnegative(std::fabs(x) * 0.70710678118654752f);
  float half_tail = erfc > 0.0f ? 0.5f * x * erfc : 0.0f;  // 0 * inf must not make NaN
  float result = x >= 0.0f ? x - half_tail : half_tail;
  return x != x || x == -INFINITY ? x - x : result;  // NaN stays NaN; -inf gives NaN as erf does
}

// x * 0.5 * (1 + tanh(u)) == x / (1 + exp(-2u)), u = sqrt(2/pi) * (x + 0.044715 x^3).
[[gnu::always_inline]] inline float fast_gelu_tanh(float x) {
  float u = 0.7978845608028654f * (x + 0.044715f * x * x * x);
  float result = x / (1.0f + fast_exp(-2.0f * u));
  return x != x || x == -INFINITY ? x - x : result;
}

// GELU is the epilogue of every transformer MLP (the bf16 products apply it here, not as a oneDNN
// post-op, see matmul_dnnl_bf16.cpp): an AVX-512 clone runs twice the lanes of the AVX2 one, which
// had made ViT's bf16 MLP slower than its float32 one. Without contraction into FMAs: the AVX2
// clone has none, and with them BERT's bf16 error against fp32 rose from 0.0027 to 0.0068
// (`bench --precision bf16`), a 1e-7 change in GELU amplified by twelve layers.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"), optimize("fp-contract=off"))) void gelu_erf_span(const float* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = fast_gelu(in[i]);
}
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"), optimize("fp-contract=off"))) void gelu_tanh_span(const float* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = fast_gelu_tanh(in[i]);
}
__attribute__((target_clones("avx2", "default"))) void silu_span(const float* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = in[i] * fast_sigmoid(in[i]);
}
// x * clamp(alpha * x + beta, 0, 1) (scale_by_x) or the clamp alone; NaN stays NaN.
__attribute__((target_clones("avx2", "default"))) void hard_sigmoid_span(const float* in, float* out, size_t n,
                                                                         float alpha, float beta, bool scale_by_x) {
  for (size_t i = 0; i < n; ++i) {
    float x = in[i];
    float h = alpha * x + beta;
    h = h < 0.0f ? 0.0f : (h > 1.0f ? 1.0f : h);
    h = scale_by_x ? x * h : h;
    out[i] = x != x ? x : h;
  }
}
__attribute__((target_clones("avx2", "default"))) void add_bias_row(float* y, const float* bias, size_t n) {
  for (size_t j = 0; j < n; ++j) y[j] += bias[j];
}

void epilogue_rows(const Epilogue& e, float* y, int64_t rows, int64_t n, bool fast) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = y + r * n;
    if (e.bias) {
      if (fast) add_bias_row(row, e.bias, static_cast<size_t>(n));
      else for (int64_t j = 0; j < n; ++j) row[j] += e.bias[j];
    }
    if (e.act == Activation::none) continue;
    if (fast) activation_span(e, row, row, static_cast<size_t>(n));
    else for (int64_t j = 0; j < n; ++j) row[j] = activation_reference(e, row[j]);
  }
}

}  // namespace

// Shared with the Sigmoid / Tanh kernels of elementwise.cpp. Outside the anonymous namespace
// on purpose: clang 14 gives the ifunc resolver of a target_clones function external linkage, so
// two anonymous copies in two files collide at link time.
__attribute__((target_clones("avx2", "default"))) void sigmoid_span(const float* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = fast_sigmoid(in[i]);
}
__attribute__((target_clones("avx2", "default"))) void tanh_span(const float* in, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = fast_tanh(in[i]);
}

float gelu_reference(float x, bool tanh_approx) {
  if (tanh_approx) {
    const float k = 0.7978845608028654f;  // sqrt(2/pi)
    return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
  }
  return 0.5f * x * (1.0f + std::erf(x * 0.7071067811865476f));
}

float activation_reference(const Epilogue& e, float x) {
  if (std::isnan(x)) return x;
  switch (e.act) {
    case Activation::none: return x;
    case Activation::relu: return x < 0.0f ? 0.0f : x;
    case Activation::clip: return x < e.alpha ? e.alpha : (x > e.beta ? e.beta : x);
    case Activation::gelu: return gelu_reference(x, false);
    case Activation::gelu_tanh: return gelu_reference(x, true);
    case Activation::leaky_relu: return x < 0.0f ? e.alpha * x : x;
    case Activation::sigmoid: return 1.0f / (1.0f + std::exp(-x));
    case Activation::silu: return x * (1.0f / (1.0f + std::exp(-x)));
    case Activation::hard_sigmoid: return std::max(0.0f, std::min(1.0f, e.alpha * x + e.beta));
    case Activation::hard_swish: return x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f));
    case Activation::tanh: return std::tanh(x);
  }
  return x;
}

void activation_span(const Epilogue& e, const float* in, float* out, size_t count) {
  switch (e.act) {
    case Activation::gelu: gelu_erf_span(in, out, count); return;
    case Activation::gelu_tanh: gelu_tanh_span(in, out, count); return;
    case Activation::sigmoid: sigmoid_span(in, out, count); return;
    case Activation::silu: silu_span(in, out, count); return;
    case Activation::tanh: tanh_span(in, out, count); return;
    case Activation::hard_sigmoid: hard_sigmoid_span(in, out, count, e.alpha, e.beta, false); return;
    case Activation::hard_swish: hard_sigmoid_span(in, out, count, 1.0f / 6.0f, 0.5f, true); return;
    default:
      for (size_t i = 0; i < count; ++i) out[i] = activation_reference(e, in[i]);  // compare/select: vectorises
  }
}

std::vector<float> add_residual(const ir::Node& node, const std::vector<float>& y, const std::vector<int64_t>& y_dims,
                                const std::vector<float>& residual, const std::vector<int64_t>& residual_dims,
                                std::vector<int64_t>& out_dims) {
  out_dims = ops::broadcast_shapes(node, {y_dims, residual_dims});
  std::vector<size_t> from_y = broadcast_offsets(y_dims, out_dims), from_r = broadcast_offsets(residual_dims, out_dims);
  std::vector<float> sum(from_y.size());
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = y[from_y[i]] + residual[from_r[i]];
  return sum;
}

void gelu_span(const float* in, float* out, size_t count, bool tanh_approx) {
  if (tanh_approx) gelu_tanh_span(in, out, count);
  else gelu_erf_span(in, out, count);
}

Epilogue epilogue_of(const ir::Node& node, const float* bias) {
  Epilogue e;
  e.bias = bias;
  const ops::FusedActivation fused = ops::fused_activation_of(node);
  e.act = fused.act;
  e.alpha = fused.alpha;
  e.beta = fused.beta;
  return e;
}

Epilogue matmul_epilogue(OpContext& ctx, int64_t n) {
  const float* bias = nullptr;
  if (ctx.input_count() > 2 && ctx.has_input(2)) {
    const ir::Tensor& b = ctx.input(2);
    if (b.dtype != ir::DataType::float32 || static_cast<int64_t>(b.numel()) != n)
      fail(ctx, "the fused bias must be float32 with one value per output column");
    bias = b.data<float>();
  }
  return epilogue_of(ctx.node(), bias);
}

void apply_epilogue(const Epilogue& e, float* y, int64_t rows, int64_t n, bool fast, ThreadPool& pool) {
  if (!e.any() || rows <= 0 || n <= 0) return;
  if (!fast) {
    epilogue_rows(e, y, rows, n, false);
    return;
  }
  size_t min_rows = static_cast<size_t>(std::max<int64_t>(1, 16384 / n));
  pool.parallel_for(static_cast<size_t>(rows), min_rows, [&](size_t lo, size_t hi) {
    epilogue_rows(e, y + static_cast<int64_t>(lo) * n, static_cast<int64_t>(hi - lo), n, true);
  });
}

}  // namespace mhub::engine::cpu
