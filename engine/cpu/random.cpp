// Random ops: RandomUniform(Like), RandomNormal(Like), Bernoulli, Multinomial.
// With a `seed` attribute the stream is reproducible within mhub (std::mt19937_64 seeded by the
// seed's bits); it does not reproduce other runtimes' numbers, which ONNX does not require.
// Without a seed every run draws from std::random_device.
#include <cmath>
#include <cstring>
#include <random>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/scalar_access.h"

namespace mhub::engine::cpu {

namespace {

std::mt19937_64 generator(const ir::Node& node) {
  if (const ir::Attribute* seed = node.attribute("seed")) {
    uint32_t bits;
    std::memcpy(&bits, &seed->f, 4);
    return std::mt19937_64(bits);
  }
  std::random_device device;
  return std::mt19937_64((static_cast<uint64_t>(device()) << 32) | device());
}

ir::DataType output_type(OpContext& ctx, ir::DataType fallback) {
  int64_t code = ctx.node().attr_int("dtype", 0);
  return code ? static_cast<ir::DataType>(code) : fallback;
}

std::vector<int64_t> output_dims(OpContext& ctx, bool like) {
  if (like) return ctx.input(0).dims;
  return ctx.node().attr_ints("shape");
}

template <bool Like>
void random_uniform(OpContext& ctx) {
  auto gen = generator(ctx.node());
  double low = ctx.node().attr_float("low", 0.0f), high = ctx.node().attr_float("high", 1.0f);
  ir::Tensor& y = ctx.allocate_output(0, output_type(ctx, Like ? ctx.input(0).dtype : ir::DataType::float32), output_dims(ctx, Like));
  std::uniform_real_distribution<double> dist(low, high);
  for (uint64_t i = 0; i < y.numel(); ++i) store_from_double(y, i, dist(gen));
}

template <bool Like>
void random_normal(OpContext& ctx) {
  auto gen = generator(ctx.node());
  double mean = ctx.node().attr_float("mean", 0.0f), scale = ctx.node().attr_float("scale", 1.0f);
  ir::Tensor& y = ctx.allocate_output(0, output_type(ctx, Like ? ctx.input(0).dtype : ir::DataType::float32), output_dims(ctx, Like));
  std::normal_distribution<double> dist(mean, scale);
  for (uint64_t i = 0; i < y.numel(); ++i) store_from_double(y, i, dist(gen));
}

void bernoulli(OpContext& ctx) {
  const ir::Tensor& p = ctx.input(0);
  auto gen = generator(ctx.node());
  ir::Tensor& y = ctx.allocate_output(0, output_type(ctx, p.dtype), p.dims);
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  for (uint64_t i = 0; i < p.numel(); ++i) store_from_double(y, i, dist(gen) < load_as_double(p, i) ? 1.0 : 0.0);
}

// input [batch, classes] of unnormalised log-probabilities -> [batch, sample_size] class ids.
void multinomial(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() != 2) throw_error(ErrorCategory::format, ctx.describe() + ": input must be [batch, classes]");
  auto gen = generator(ctx.node());
  int64_t samples = ctx.node().attr_int("sample_size", 1);
  ir::Tensor& y = ctx.allocate_output(0, output_type(ctx, ir::DataType::int32), {x.dims[0], samples});
  int64_t classes = x.dims[1];
  std::vector<double> weights(static_cast<size_t>(classes));
  for (int64_t b = 0; b < x.dims[0]; ++b) {
    double top = -INFINITY;
    for (int64_t c = 0; c < classes; ++c) top = std::max(top, load_as_double(x, static_cast<uint64_t>(b * classes + c)));
    for (int64_t c = 0; c < classes; ++c) weights[c] = std::exp(load_as_double(x, static_cast<uint64_t>(b * classes + c)) - top);
    std::discrete_distribution<int64_t> dist(weights.begin(), weights.end());
    for (int64_t s = 0; s < samples; ++s) store_int64(y, static_cast<uint64_t>(b * samples + s), dist(gen));
  }
}

}  // namespace

void add_random_kernels(std::vector<KernelDef>& table) {
  using O = ir::OpKind;
  auto ref = KernelKind::reference;
  table.push_back({O::RandomUniform, ref, random_uniform<false>, nullptr});
  table.push_back({O::RandomUniformLike, ref, random_uniform<true>, nullptr});
  table.push_back({O::RandomNormal, ref, random_normal<false>, nullptr});
  table.push_back({O::RandomNormalLike, ref, random_normal<true>, nullptr});
  table.push_back({O::Bernoulli, ref, bernoulli, nullptr});
  table.push_back({O::Multinomial, ref, multinomial, nullptr});
}

}  // namespace mhub::engine::cpu
