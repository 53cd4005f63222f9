// Activations with parameters: LeakyRelu, Elu, Selu, Celu, HardSigmoid, HardSwish, Softplus,
// Softsign, PRelu, ThresholdedRelu, Mish, Swish, Gelu (exact and tanh), Shrink.
// Each computes in float (see nn_util.h); NaN passes through every formula unchanged.
#include <cmath>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/epilogue.h"
#include "engine/cpu/nn_util.h"

namespace mhub::engine::cpu {

namespace {

// Applies `f` elementwise to input 0, writing output 0 in the input's dtype.
template <typename F>
void unary(OpContext& ctx, F f) {
  const ir::Tensor& x = ctx.input(0);
  std::vector<float> v = input_floats(ctx, 0);
  float* p = v.data();
  ctx.threads().parallel_for(v.size(), kMinParallelElements, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) p[i] = f(p[i]);
  });
  output_floats(ctx, 0, x.dtype, x.dims, v.data());
}

void leaky_relu(OpContext& ctx) {
  float alpha = ctx.node().attr_float("alpha", 0.01f);
  unary(ctx, [alpha](float x) { return x < 0 ? alpha * x : x; });
}
void elu(OpContext& ctx) {
  float alpha = ctx.node().attr_float("alpha", 1.0f);
  unary(ctx, [alpha](float x) { return x < 0 ? alpha * std::expm1(x) : x; });
}
void selu(OpContext& ctx) {
  float alpha = ctx.node().attr_float("alpha", 1.67326319217681884765625f);
  float gamma = ctx.node().attr_float("gamma", 1.05070102214813232421875f);
  unary(ctx, [=](float x) { return x <= 0 ? gamma * alpha * std::expm1(x) : gamma * x; });
}
void celu(OpContext& ctx) {
  float alpha = ctx.node().attr_float("alpha", 1.0f);
  unary(ctx, [alpha](float x) {
    return std::max(0.0f, x) + std::min(0.0f, alpha * std::expm1(x / alpha));
  });
}
void hard_sigmoid(OpContext& ctx) {
  float alpha = ctx.node().attr_float("alpha", 0.2f);
  float beta = ctx.node().attr_float("beta", 0.5f);
  unary(ctx, [=](float x) {
    if (std::isnan(x)) return x;
    return std::max(0.0f, std::min(1.0f, alpha * x + beta));
  });
}
void hard_swish(OpContext& ctx) {
  unary(ctx, [](float x) {
    if (std::isnan(x)) return x;
    return x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f));
  });
}
void softplus(OpContext& ctx) {
  // log(1+e^x) without overflow: x + log1p(e^-x) for positive x.
  unary(ctx, [](float x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); });
}
void softsign(OpContext& ctx) {
  unary(ctx, [](float x) { return x / (1.0f + std::fabs(x)); });
}
void thresholded_relu(OpContext& ctx) {
  float alpha = ctx.node().attr_float("alpha", 1.0f);
  unary(ctx, [alpha](float x) { return x > alpha ? x : (std::isnan(x) ? x : 0.0f); });
}
float softplus_value(float x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }
void mish(OpContext& ctx) {
  unary(ctx, [](float x) { return x * std::tanh(softplus_value(x)); });
}
void swish(OpContext& ctx) {
  float alpha = ctx.node().attr_float("alpha", 1.0f);
  unary(ctx, [alpha](float x) { return x / (1.0f + std::exp(-alpha * x)); });
}
void gelu(OpContext& ctx) {
  if (ctx.node().attr_string("approximate", "none") == "tanh") {
    unary(ctx, [](float x) {
      const float k = 0.7978845608028654f;  // sqrt(2/pi)
      return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
    });
  } else {
    unary(ctx, [](float x) { return 0.5f * x * (1.0f + std::erf(x * 0.7071067811865476f)); });
  }
}
// float32 Gelu on the pool with the vectorised formulas of epilogue.h (the reference above uses
// libm's erf / tanh).
void gelu_fast(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  bool tanh_approx = ctx.node().attr_string("approximate", "none") == "tanh";
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  const float* in = x.data<float>();
  float* out = mutable_floats(y);
  ctx.threads().parallel_for(x.numel(), kMinParallelElements, [&](size_t b, size_t e) {
    gelu_span(in + b, out + b, e - b, tanh_approx);
  });
}
// float32 HardSigmoid, HardSwish and Swish (alpha 1, i.e. SiLU) on the pool with the fused
// activations' vectorised spans (epilogue.h): what the load-time pass writes for the spelled-out
// forms when no Conv / Gemm / MatMul before them takes the activation.
Epilogue standalone_activation(const ir::Node& node) {
  Epilogue e;
  switch (node.op) {
    case ir::OpKind::HardSigmoid:
      e.act = Activation::hard_sigmoid;
      e.alpha = node.attr_float("alpha", 0.2f);
      e.beta = node.attr_float("beta", 0.5f);
      break;
    case ir::OpKind::HardSwish: e.act = Activation::hard_swish; break;
    default: e.act = Activation::silu; break;
  }
  return e;
}
void activation_fast(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const Epilogue e = standalone_activation(ctx.node());
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  const float* in = x.data<float>();
  float* out = mutable_floats(y);
  ctx.threads().parallel_for(x.numel(), kMinParallelElements, [&](size_t b, size_t e_) {
    activation_span(e, in + b, out + b, e_ - b);
  });
}
bool activation_fast_supports(const ir::Node& node, std::span<const ir::DataType> t) {
  if (node.op == ir::OpKind::Swish && node.attr_float("alpha", 1.0f) != 1.0f) return false;
  return !t.empty() && t[0] == ir::DataType::float32;
}

bool gelu_fast_supports(const ir::Node& node, std::span<const ir::DataType> t) {
  std::string kind = node.attr_string("approximate", "none");
  return !t.empty() && t[0] == ir::DataType::float32 && (kind == "none" || kind == "tanh");
}

void shrink(OpContext& ctx) {
  float lambd = ctx.node().attr_float("lambd", 0.5f);
  float bias = ctx.node().attr_float("bias", 0.0f);
  const ir::Tensor& x = ctx.input(0);
  if (is_nn_float(x.dtype)) {
    unary(ctx, [=](float v) { return v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0f); });
    return;
  }
  // Integer inputs (the backend suite uses int8/uint8): compute in double, cast back.
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  size_t n = x.numel();
  for (size_t i = 0; i < n; ++i) {
    double v = x.dtype == ir::DataType::int8 ? x.data<int8_t>()[i] : x.data<uint8_t>()[i];
    double r = v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0);
    if (x.dtype == ir::DataType::int8)
      reinterpret_cast<int8_t*>(y.storage->mutable_data() + y.offset)[i] = static_cast<int8_t>(r);
    else
      reinterpret_cast<uint8_t*>(y.storage->mutable_data() + y.offset)[i] = static_cast<uint8_t>(r);
  }
}
bool shrink_types(const ir::Node&, std::span<const ir::DataType> t) {
  return !t.empty() && (is_nn_float(t[0]) || t[0] == ir::DataType::int8 || t[0] == ir::DataType::uint8);
}

// PRelu: slope broadcasts unidirectionally to X (numpy rules, right-aligned).
void prelu(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& s = ctx.input(1);
  std::vector<float> xv = input_floats(ctx, 0);
  std::vector<float> sv = input_floats(ctx, 1);
  size_t rank = x.dims.size();
  if (s.dims.size() > rank) fail(ctx, "slope has more dimensions than X");
  std::vector<int64_t> sdims(rank, 1);
  for (size_t i = 0; i < s.dims.size(); ++i) sdims[rank - s.dims.size() + i] = s.dims[i];
  bool broadcasts = true;
  for (size_t i = 0; i < rank; ++i)
    if (sdims[i] != 1 && sdims[i] != x.dims[i]) broadcasts = false;
  if (!broadcasts && rank >= 2 && s.numel() == static_cast<uint64_t>(x.dims[1])) {
    // Old exporters give one slope per channel (axis 1) without trailing 1s.
    sdims.assign(rank, 1);
    sdims[1] = x.dims[1];
    broadcasts = true;
  }
  if (!broadcasts) fail(ctx, "slope shape does not broadcast to X");
  std::vector<int64_t> sstride(rank, 0);
  int64_t st = 1;
  for (size_t i = rank; i-- > 0;) {
    sstride[i] = sdims[i] == 1 ? 0 : st;
    st *= sdims[i];
  }
  size_t n = xv.size();
  std::vector<int64_t> idx(rank, 0);
  int64_t soff = 0;
  for (size_t i = 0; i < n; ++i) {
    if (xv[i] < 0) xv[i] *= sv[soff];
    for (size_t d = rank; d-- > 0;) {  // odometer increment keeps the slope offset in step
      soff += sstride[d];
      if (++idx[d] < x.dims[d]) break;
      soff -= sstride[d] * idx[d];
      idx[d] = 0;
    }
  }
  output_floats(ctx, 0, x.dtype, x.dims, xv.data());
}

}  // namespace

void add_activations_kernels(std::vector<KernelDef>& table) {
  using ir::OpKind;
  const KernelKind ref = KernelKind::reference;
  table.push_back({OpKind::LeakyRelu, ref, leaky_relu, nn_float_input});
  table.push_back({OpKind::Elu, ref, elu, nn_float_input});
  table.push_back({OpKind::Selu, ref, selu, nn_float_input});
  table.push_back({OpKind::Celu, ref, celu, nn_float_input});
  table.push_back({OpKind::HardSigmoid, ref, hard_sigmoid, nn_float_input});
  table.push_back({OpKind::HardSwish, ref, hard_swish, nn_float_input});
  table.push_back({OpKind::HardSigmoid, KernelKind::fast, activation_fast, activation_fast_supports});
  table.push_back({OpKind::HardSwish, KernelKind::fast, activation_fast, activation_fast_supports});
  table.push_back({OpKind::Softplus, ref, softplus, nn_float_input});
  table.push_back({OpKind::Softsign, ref, softsign, nn_float_input});
  table.push_back({OpKind::ThresholdedRelu, ref, thresholded_relu, nn_float_input});
  table.push_back({OpKind::Mish, ref, mish, nn_float_input});
  table.push_back({OpKind::Swish, ref, swish, nn_float_input});
  table.push_back({OpKind::Swish, KernelKind::fast, activation_fast, activation_fast_supports});
  table.push_back({OpKind::Gelu, ref, gelu, nn_float_input});
  table.push_back({OpKind::Gelu, KernelKind::fast, gelu_fast, gelu_fast_supports});
  table.push_back({OpKind::Shrink, ref, shrink, shrink_types});
  table.push_back({OpKind::PRelu, ref, prelu, nn_float_input});
}

}  // namespace mhub::engine::cpu
