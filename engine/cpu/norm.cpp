// Normalizations: BatchNormalization (inference and training_mode outputs),
// InstanceNormalization, LayerNormalization (Mean / InvStdDev outputs), GroupNormalization
// (opset 18 per-group and opset 21 per-channel scale), RMSNormalization, LpNormalization,
// MeanVarianceNormalization, LRN. Statistics are accumulated in double.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "engine/core/passes/nn_fusion.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/epilogue.h"
#include "engine/cpu/norm_batch_coefficients.h"
#include "engine/cpu/nn_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

void batch_norm(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() < 2 && !x.dims.empty()) fail(ctx, "X must have rank >= 2");
  float eps = node.attr_float("epsilon", 1e-5f);
  float momentum = node.attr_float("momentum", 0.9f);
  bool training = node.attr_int("training_mode", 0) != 0;
  int64_t n = x.dims[0], c = x.dims.size() > 1 ? x.dims[1] : 1;
  int64_t inner = ops::dims_product(x.dims, 2, x.dims.size());
  std::vector<float> xv = input_floats(ctx, 0), scale = input_floats(ctx, 1), bias = input_floats(ctx, 2);
  std::vector<float> mean = input_floats(ctx, 3), var = input_floats(ctx, 4);
  std::vector<float> use_mean = mean, use_var = var;
  // A parameter holds one value per channel or one for all (read past its end otherwise).
  for (size_t i = 1; i < 5; ++i)
    if (const size_t count = ctx.input(i).numel(); count != static_cast<size_t>(c) && count != 1)
      fail(ctx, "input " + std::to_string(i) + " holds " + std::to_string(count) + " values; X has " + std::to_string(c) + " channels");
  if (training) {
    for (int64_t ch = 0; ch < c; ++ch) {
      double s = 0, sq = 0;
      for (int64_t b = 0; b < n; ++b)
        for (int64_t i = 0; i < inner; ++i) {
          double v = xv[(b * c + ch) * inner + i];
          s += v;
          sq += v * v;
        }
      double cnt = static_cast<double>(n * inner);
      double m = s / cnt;
      use_mean[ch] = static_cast<float>(m);
      use_var[ch] = static_cast<float>(sq / cnt - m * m);
    }
  }
  std::vector<float> y(xv.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      float k = channel_value(scale, ch) / std::sqrt(channel_value(use_var, ch) + eps);
      float off = channel_value(bias, ch) - channel_value(use_mean, ch) * k;
      const float* xi = xv.data() + (b * c + ch) * inner;
      float* yi = y.data() + (b * c + ch) * inner;
      for (int64_t i = 0; i < inner; ++i) yi[i] = xi[i] * k + off;
    }
  // An activation the load-time pass fused into an inference BN (nn_fusion.h).
  if (const Epilogue e = epilogue_of(node, nullptr); e.any())
    for (float& v : y) v = activation_reference(e, v);
  output_floats(ctx, 0, x.dtype, x.dims, y.data());
  if (training && ctx.output_count() >= 3) {
    std::vector<float> rm(c), rv(c);
    for (int64_t ch = 0; ch < c; ++ch) {
      rm[ch] = channel_value(mean, ch) * momentum + use_mean[ch] * (1 - momentum);
      rv[ch] = channel_value(var, ch) * momentum + use_var[ch] * (1 - momentum);
    }
    if (ctx.output_wanted(1)) output_floats(ctx, 1, ctx.input(3).dtype, {c}, rm.data());
    if (ctx.output_wanted(2)) output_floats(ctx, 2, ctx.input(4).dtype, {c}, rv.data());
  }
}

}  // namespace

// Outside the anonymous namespace on purpose (see epilogue.cpp's sigmoid_span): target_clones.
// Not contracted into FMAs (the baseline clone has none): every clone rounds x * k + off as the
// reference does, a product then a sum.
// Channels-last: y[p * c + ch] = x[p * c + ch] * k[ch] + off[ch] for p < pixels, ch < c, then Relu
// where `relu`; vectorised over the channels (16 per AVX-512 register).
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"), optimize("fp-contract=off"))) void batch_norm_pixels(
    const float* x, float* y, int64_t pixels, int64_t c, const float* k, const float* off, bool relu) {
  if (relu)
    for (int64_t p = 0; p < pixels; ++p, x += c, y += c)
      for (int64_t ch = 0; ch < c; ++ch) y[ch] = relu_value(x[ch] * k[ch] + off[ch]);
  else
    for (int64_t p = 0; p < pixels; ++p, x += c, y += c)
      for (int64_t ch = 0; ch < c; ++ch) y[ch] = x[ch] * k[ch] + off[ch];
}
// NCHW: y[i] = x[i] * k + off for i < count (one plane), then Relu where `relu`.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"), optimize("fp-contract=off"))) void batch_norm_plane(
    const float* x, float* y, int64_t count, float k, float off, bool relu) {
  if (relu)
    for (int64_t i = 0; i < count; ++i) y[i] = relu_value(x[i] * k + off);
  else
    for (int64_t i = 0; i < count; ++i) y[i] = x[i] * k + off;
}
void batch_norm_plane_fast(const float* x, float* y, int64_t count, float k, float off, bool relu) {
  batch_norm_plane(x, y, count, k, off, relu);
}

namespace {

struct BatchNormKey {
  const void* params[4];  // scale, bias, mean, var
  int64_t c;
  uint32_t eps_bits;
  bool operator==(const BatchNormKey& o) const {
    return std::equal(params, params + 4, o.params) && c == o.c && eps_bits == o.eps_bits;
  }
};
struct BatchNormKeyHash {
  size_t operator()(const BatchNormKey& key) const {
    size_t h = static_cast<size_t>(key.c) * 65599 + key.eps_bits;
    for (const void* p : key.params) h = h * 31 + std::hash<const void*>()(p);
    return h;
  }
};

std::mutex bn_cache_mutex;
std::unordered_map<BatchNormKey, std::shared_ptr<const BatchNormCoefficients>, BatchNormKeyHash> bn_cache;
constexpr size_t kMaxCachedBatchNorms = 4096;
// The cache's size at which entries of models no longer loaded are looked for (raised to twice
// the live entries after each look, so the scans cost O(1) per insertion).
size_t bn_cache_prune_at = 64;

// Drops the entries whose parameter buffers only the cache still holds: their sessions are gone,
// and an owner can be a whole model's weights (one buffer for all initializers), which a process
// loading model after model (a server, a sweep) would otherwise keep until 4096 entries. A buffer
// may be the owner of several entries (and of several parameters of one), so it is dead when its
// use count is the cache's own references to it. Caller holds bn_cache_mutex.
void prune_dead_batch_norms() {
  std::unordered_map<const ir::Storage*, long> cache_refs;
  for (const auto& [key, co] : bn_cache)
    for (const auto& owner : co->owners)
      if (owner) ++cache_refs[owner.get()];
  for (auto it = bn_cache.begin(); it != bn_cache.end();) {
    bool dead = true;
    for (const auto& owner : it->second->owners)
      if (!owner || owner.use_count() > cache_refs[owner.get()]) dead = false;
    it = dead ? bn_cache.erase(it) : std::next(it);
  }
  bn_cache_prune_at = std::max<size_t>(64, 2 * bn_cache.size());
}

// Scale, B, mean and var at inputs first .. first + 3.
std::shared_ptr<BatchNormCoefficients> batch_norm_coefficients(OpContext& ctx, size_t first, int64_t c, float eps) {
  auto co = std::make_shared<BatchNormCoefficients>();
  co->k.resize(static_cast<size_t>(c));
  co->off.resize(static_cast<size_t>(c));
  // A parameter of one value broadcasts over the channels.
  auto at = [&](size_t param, int64_t ch) {
    const ir::Tensor& t = ctx.input(first + param);
    return t.numel() == 1 ? t.data<float>()[0] : t.data<float>()[ch];
  };
  for (int64_t ch = 0; ch < c; ++ch) {
    co->k[ch] = at(0, ch) / std::sqrt(at(3, ch) + eps);
    co->off[ch] = at(1, ch) - at(2, ch) * co->k[ch];
  }
  return co;
}

}  // namespace

std::shared_ptr<const BatchNormCoefficients> batch_norm_coefficients_cached(OpContext& ctx, size_t first, int64_t c, float eps) {
  for (size_t i = first; i < first + 4; ++i)
    if (!ctx.input_is_constant(i)) return batch_norm_coefficients(ctx, first, c, eps);
  BatchNormKey key{{ctx.input(first).data<float>(), ctx.input(first + 1).data<float>(), ctx.input(first + 2).data<float>(),
                    ctx.input(first + 3).data<float>()},
                   c, 0};
  std::memcpy(&key.eps_bits, &eps, sizeof eps);
  {
    std::lock_guard lock(bn_cache_mutex);
    if (auto it = bn_cache.find(key); it != bn_cache.end()) return it->second;
  }
  std::shared_ptr<BatchNormCoefficients> co = batch_norm_coefficients(ctx, first, c, eps);
  for (size_t i = 0; i < 4; ++i) co->owners[i] = ctx.input(first + i).storage;
  std::lock_guard lock(bn_cache_mutex);
  if (bn_cache.size() >= bn_cache_prune_at) prune_dead_batch_norms();
  if (bn_cache.size() >= kMaxCachedBatchNorms) bn_cache.clear();
  return bn_cache.emplace(key, std::move(co)).first->second;
}

namespace {

// Fast inference BatchNormalization (float32, one output): y = x * k[c] + off[c] written straight
// into the output, k and off as the reference computes them (once per constant parameter set), the
// loops vectorised (AVX-512 / AVX2 clones). NCHW X is threaded over planes; a channels-last 4-D X
// (mhub_layout_in/out, passes/channels_last.h) over pixels, each pixel's channel run against the
// k and off runs. A fused activation (nn_fusion.h) is applied to each chunk while it is in cache:
// Relu inline, the others with the fast formulas of activation_span.
void batch_norm_fast(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() < 2) return batch_norm(ctx);
  const int64_t n = x.dims[0], c = x.dims[1], inner = ops::dims_product(x.dims, 2, x.dims.size());
  for (size_t i = 1; i < 5; ++i) {
    const int64_t count = static_cast<int64_t>(ctx.input(i).numel());
    if (ctx.input(i).dtype != ir::DataType::float32 || (count != c && count != 1)) return batch_norm(ctx);
  }
  const std::shared_ptr<const BatchNormCoefficients> co = batch_norm_coefficients_cached(ctx, 1, c, ctx.node().attr_float("epsilon", 1e-5f));
  const float* k = co->k.data();
  const float* off = co->off.data();
  // Y over X's bytes where the pass found this node X's last reader (nn_fusion.h, kInputInPlace)
  // and nobody else holds them now (output_over_input): y[i] depends on x[i] alone, so writing each
  // element after reading it is safe, and one buffer is touched, not two.
  const float* px = x.data<float>();
  float* py = nullptr;
  if (ctx.node().attr_int(kInputInPlace, 0) != 0 && x.dtype == ir::DataType::float32 && x.offset == 0)
    py = reinterpret_cast<float*>(output_over_input(ctx, 0, 0));
  if (!py) py = mutable_floats(ctx.allocate_output(0, ir::DataType::float32, x.dims));
  const Epilogue e = epilogue_of(ctx.node(), nullptr);
  const bool relu = e.act == Activation::relu;
  // The activation other than Relu over the chunk [lo, hi) of y.
  auto finish = [&](size_t lo, size_t hi) {
    if (e.any() && !relu) activation_span(e, py + lo, py + lo, hi - lo);
  };
  if (x.dims.size() == 4 && ctx.node().attr_string("mhub_layout_in", "") == "nhwc") {
    // Channels-last (passes/channels_last.h): every pixel is a run of c values.
    const size_t pixels = static_cast<size_t>(n * inner);
    ctx.threads().parallel_for(pixels, chunk_for_elements(static_cast<size_t>(c)), [&](size_t lo, size_t hi) {
      batch_norm_pixels(px + lo * c, py + lo * c, static_cast<int64_t>(hi - lo), c, k, off, relu);
      finish(lo * c, hi * c);
    });
    return;
  }
  ctx.threads().parallel_for(static_cast<size_t>(n * c), chunk_for_elements(static_cast<size_t>(inner)), [&](size_t lo, size_t hi) {
    for (size_t plane = lo; plane < hi; ++plane)
      batch_norm_plane(px + plane * inner, py + plane * inner, inner, k[plane % c], off[plane % c], relu);
    finish(lo * inner, hi * inner);
  });
}

bool batch_norm_fast_supports(const ir::Node& node, std::span<const ir::DataType> t) {
  if (node.attr_int("training_mode", 0) != 0) return false;
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty()) return false;
  return t.size() == 5 && std::all_of(t.begin(), t.end(), [](ir::DataType d) { return d == ir::DataType::float32; });
}

void instance_norm(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  float eps = ctx.node().attr_float("epsilon", 1e-5f);
  int64_t n = x.dims[0], c = x.dims[1], inner = ops::dims_product(x.dims, 2, x.dims.size());
  std::vector<float> xv = input_floats(ctx, 0), scale = input_floats(ctx, 1), bias = input_floats(ctx, 2);
  ctx.threads().parallel_for(static_cast<size_t>(n * c), 1, [&](size_t lo, size_t hi) {
    for (size_t plane = lo; plane < hi; ++plane) {
      int64_t ch = plane % c;
      float* p = xv.data() + plane * inner;
      double s = 0, sq = 0;
      for (int64_t i = 0; i < inner; ++i) s += p[i];
      double m = s / inner;
      for (int64_t i = 0; i < inner; ++i) sq += (p[i] - m) * (p[i] - m);
      float k = static_cast<float>(channel_value(scale, ch) / std::sqrt(sq / inner + eps));
      for (int64_t i = 0; i < inner; ++i) p[i] = static_cast<float>((p[i] - m) * k + channel_value(bias, ch));
    }
  });
  output_floats(ctx, 0, x.dtype, x.dims, xv.data());
}

// Normalizes rows of `len` values: LayerNormalization (centre + scale) and RMSNormalization.
void row_norm(OpContext& ctx, bool centre) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  int64_t rank = static_cast<int64_t>(x.dims.size());
  int64_t axis = ops::normalize_axis(ctx.node(), node.attr_int("axis", -1), rank);
  float eps = node.attr_float("epsilon", 1e-5f);
  int64_t rows = ops::dims_product(x.dims, 0, axis), len = ops::dims_product(x.dims, axis, rank);
  std::vector<float> xv = input_floats(ctx, 0), scale = input_floats(ctx, 1), bias;
  if (centre && ctx.has_input(2)) bias = input_floats(ctx, 2);
  if (scale.empty() || len % static_cast<int64_t>(scale.size()) != 0) fail(ctx, "Scale does not broadcast to the normalized shape");
  std::vector<float> means(rows), inv(rows);
  ctx.threads().parallel_for(static_cast<size_t>(rows), 16, [&](size_t lo, size_t hi) {
    for (size_t r = lo; r < hi; ++r) {
      float* p = xv.data() + r * len;
      double m = 0;
      if (centre) {
        for (int64_t i = 0; i < len; ++i) m += p[i];
        m /= len;
      }
      double sq = 0;
      for (int64_t i = 0; i < len; ++i) sq += (p[i] - m) * (p[i] - m);
      double is = 1.0 / std::sqrt(sq / len + eps);
      means[r] = static_cast<float>(m);
      inv[r] = static_cast<float>(is);
      for (int64_t i = 0; i < len; ++i) {
        float v = static_cast<float>((p[i] - m) * is) * scale[i % scale.size()];
        p[i] = bias.empty() ? v : v + bias[i % bias.size()];
      }
    }
  });
  output_floats(ctx, 0, x.dtype, x.dims, xv.data());
  std::vector<int64_t> stat_dims = x.dims;
  for (int64_t d = axis; d < rank; ++d) stat_dims[d] = 1;
  ir::DataType stat_type = ir::DataType::float32;
  if (ctx.node().attr_int("stash_type", 1) != 1) stat_type = x.dtype;
  if (centre && ctx.output_count() > 1 && ctx.output_wanted(1)) output_floats(ctx, 1, stat_type, stat_dims, means.data());
  if (centre && ctx.output_count() > 2 && ctx.output_wanted(2)) output_floats(ctx, 2, stat_type, stat_dims, inv.data());
}
void layer_norm(OpContext& ctx) { row_norm(ctx, true); }

// Sum of a row in 8 float lanes (vectorises without -ffast-math; the lanes keep the rounding
// error of a 768-value row near 1e-7).
__attribute__((target_clones("avx2", "default"))) float row_sum(const float* p, int64_t n, float shift) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) lane[k] += p[i + k] - shift;
  float s = 0;
  for (; i < n; ++i) s += p[i] - shift;
  for (float l : lane) s += l;
  return s;
}
__attribute__((target_clones("avx2", "default"))) float row_sum_squares(const float* p, int64_t n, float mean) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) {
      float d = p[i + k] - mean;
      lane[k] += d * d;
    }
  float s = 0;
  for (; i < n; ++i) s += (p[i] - mean) * (p[i] - mean);
  for (float l : lane) s += l;
  return s;
}
__attribute__((target_clones("avx2", "default"))) void normalize_row(const float* p, float* y, int64_t n, float mean,
                                                                     float inv, const float* scale, const float* bias) {
  if (bias)
    for (int64_t i = 0; i < n; ++i) y[i] = (p[i] - mean) * inv * scale[i] + bias[i];
  else
    for (int64_t i = 0; i < n; ++i) y[i] = (p[i] - mean) * inv * scale[i];
}

// float32 LayerNormalization whose Scale (and B) cover the whole normalized row: rows split over
// the pool, each read twice from cache (mean, then centred sum of squares) and written once,
// straight into the output. Other shapes go to the reference.
void layer_norm_fast(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  int64_t rank = static_cast<int64_t>(x.dims.size());
  int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", -1), rank);
  int64_t rows = ops::dims_product(x.dims, 0, axis), len = ops::dims_product(x.dims, axis, rank);
  const ir::Tensor& scale = ctx.input(1);
  bool has_bias = ctx.input_count() > 2 && ctx.has_input(2);
  if (static_cast<int64_t>(scale.numel()) != len || (has_bias && static_cast<int64_t>(ctx.input(2).numel()) != len) ||
      len == 0) {
    row_norm(ctx, true);
    return;
  }
  float eps = ctx.node().attr_float("epsilon", 1e-5f);
  const float* in = x.data<float>();
  const float* g = scale.data<float>();
  const float* b = has_bias ? ctx.input(2).data<float>() : nullptr;
  float* out = mutable_floats(ctx.allocate_output(0, x.dtype, x.dims));
  size_t min_rows = static_cast<size_t>(std::max<int64_t>(1, 8192 / len));
  ctx.threads().parallel_for(static_cast<size_t>(rows), min_rows, [&](size_t lo, size_t hi) {
    for (size_t r = lo; r < hi; ++r) {
      const float* p = in + r * len;
      // Shifting by the first value keeps the sum exact-ish for rows far from zero.
      float mean = p[0] + row_sum(p, len, p[0]) / static_cast<float>(len);
      float var = row_sum_squares(p, len, mean) / static_cast<float>(len);
      float inv = 1.0f / std::sqrt(var + eps);
      normalize_row(p, out + r * len, len, mean, inv, g, b);
    }
  });
}
bool layer_norm_fast_supports(const ir::Node& node, std::span<const ir::DataType> t) {
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty()) return false;  // Mean / InvStdDev: the reference writes them
  if (t.size() < 2 || t[0] != ir::DataType::float32 || t[1] != ir::DataType::float32) return false;
  return t.size() < 3 || t[2] == ir::DataType::float32 || t[2] == ir::DataType::undefined;
}
void rms_norm(OpContext& ctx) { row_norm(ctx, false); }

void group_norm(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  float eps = ctx.node().attr_float("epsilon", 1e-5f);
  int64_t groups = ctx.node().attr_int("num_groups", 1);
  int64_t n = x.dims[0], c = x.dims[1], inner = ops::dims_product(x.dims, 2, x.dims.size());
  if (groups < 1 || c % groups) fail(ctx, "num_groups must divide the channel count");
  std::vector<float> xv = input_floats(ctx, 0), scale = input_floats(ctx, 1), bias = input_floats(ctx, 2);
  bool per_channel = static_cast<int64_t>(scale.size()) == c;  // opset 21; opset 18 is per group
  int64_t cg = c / groups, len = cg * inner;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t g = 0; g < groups; ++g) {
      float* p = xv.data() + (b * c + g * cg) * inner;
      double s = 0, sq = 0;
      for (int64_t i = 0; i < len; ++i) s += p[i];
      double m = s / len;
      for (int64_t i = 0; i < len; ++i) sq += (p[i] - m) * (p[i] - m);
      double is = 1.0 / std::sqrt(sq / len + eps);
      for (int64_t i = 0; i < len; ++i) {
        int64_t idx = per_channel ? g * cg + i / inner : g;
        p[i] = static_cast<float>((p[i] - m) * is) * scale[idx] + bias[idx];
      }
    }
  output_floats(ctx, 0, x.dtype, x.dims, xv.data());
}

void lp_norm(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  int64_t rank = static_cast<int64_t>(x.dims.size());
  int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", -1), rank);
  int64_t p = ctx.node().attr_int("p", 2);
  if (p != 1 && p != 2) fail(ctx, "p must be 1 or 2");
  int64_t outer = ops::dims_product(x.dims, 0, axis), len = x.dims[axis], inner = ops::dims_product(x.dims, axis + 1, rank);
  std::vector<float> v = input_floats(ctx, 0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      float* row = v.data() + o * len * inner + in;
      double s = 0;
      for (int64_t i = 0; i < len; ++i) s += p == 1 ? std::fabs(row[i * inner]) : row[i * inner] * row[i * inner];
      double norm = p == 1 ? s : std::sqrt(s);
      for (int64_t i = 0; i < len; ++i) row[i * inner] = norm == 0 ? 0.0f : static_cast<float>(row[i * inner] / norm);
    }
  output_floats(ctx, 0, x.dtype, x.dims, v.data());
}

// For each element, the flat index of its slot in the tensor reduced over `axes` (keepdims).
std::vector<int64_t> reduced_slots(const std::vector<int64_t>& dims, const std::vector<bool>& reduce, int64_t& slots) {
  size_t rank = dims.size();
  int64_t total = ops::dims_product(dims, 0, rank);
  std::vector<int64_t> out(static_cast<size_t>(total)), idx(rank, 0);
  slots = 1;
  for (size_t d = 0; d < rank; ++d) if (!reduce[d]) slots *= dims[d];
  for (int64_t i = 0; i < total; ++i) {
    int64_t s = 0;
    for (size_t d = 0; d < rank; ++d) if (!reduce[d]) s = s * dims[d] + idx[d];
    out[i] = s;
    for (size_t d = rank; d-- > 0;) { if (++idx[d] < dims[d]) break; idx[d] = 0; }
  }
  return out;
}

void mean_variance_norm(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  std::vector<int64_t> axes = ctx.node().attr_ints("axes");
  if (axes.empty()) axes = {0, 2, 3};
  std::vector<bool> reduce(x.dims.size(), false);
  for (int64_t a : axes) reduce[ops::normalize_axis(ctx.node(), a, static_cast<int64_t>(x.dims.size()))] = true;
  int64_t slots = 0;
  std::vector<int64_t> slot = reduced_slots(x.dims, reduce, slots);
  std::vector<float> v = input_floats(ctx, 0);
  std::vector<double> s(slots, 0), sq(slots, 0), cnt(slots, 0);
  for (size_t i = 0; i < v.size(); ++i) { s[slot[i]] += v[i]; sq[slot[i]] += double(v[i]) * v[i]; cnt[slot[i]] += 1; }
  for (size_t i = 0; i < v.size(); ++i) {
    double m = s[slot[i]] / cnt[slot[i]];
    double var = sq[slot[i]] / cnt[slot[i]] - m * m;
    v[i] = static_cast<float>((v[i] - m) / (std::sqrt(std::max(0.0, var)) + 1e-9));
  }
  output_floats(ctx, 0, x.dtype, x.dims, v.data());
}

void lrn(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  float alpha = node.attr_float("alpha", 1e-4f), beta = node.attr_float("beta", 0.75f), bias = node.attr_float("bias", 1.0f);
  int64_t size = node.attr_int("size", 1);
  int64_t n = x.dims[0], c = x.dims[1], inner = ops::dims_product(x.dims, 2, x.dims.size());
  std::vector<float> v = input_floats(ctx, 0), y(v.size());
  int64_t lo_off = (size - 1) / 2, hi_off = size - 1 - lo_off;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < inner; ++i) {
        double sq = 0;
        for (int64_t k = std::max<int64_t>(0, ch - lo_off); k <= std::min(c - 1, ch + hi_off); ++k) {
          double e = v[(b * c + k) * inner + i];
          sq += e * e;
        }
        size_t at = (b * c + ch) * inner + i;
        y[at] = static_cast<float>(v[at] / std::pow(bias + alpha / size * sq, beta));
      }
  output_floats(ctx, 0, x.dtype, x.dims, y.data());
}

}  // namespace

void add_norm_kernels(std::vector<KernelDef>& table) {
  using ir::OpKind;
  const KernelKind ref = KernelKind::reference;
  table.push_back({OpKind::BatchNormalization, ref, batch_norm, nn_float_input});
  table.push_back({OpKind::BatchNormalization, KernelKind::fast, batch_norm_fast, batch_norm_fast_supports, 0,
                   /*channels_last=*/true});
  table.push_back({OpKind::InstanceNormalization, ref, instance_norm, nn_float_input});
  table.push_back({OpKind::LayerNormalization, ref, layer_norm, nn_float_input});
  table.push_back({OpKind::LayerNormalization, KernelKind::fast, layer_norm_fast, layer_norm_fast_supports});
  table.push_back({OpKind::RMSNormalization, ref, rms_norm, nn_float_input});
  table.push_back({OpKind::GroupNormalization, ref, group_norm, nn_float_input});
  table.push_back({OpKind::LpNormalization, ref, lp_norm, nn_float_input});
  table.push_back({OpKind::MeanVarianceNormalization, ref, mean_variance_norm, nn_float_input});
  table.push_back({OpKind::LRN, ref, lrn, nn_float_input});
}

}  // namespace mhub::engine::cpu
