// BatchNormTraining and BatchNormGrad (mhub-internal ops, engine/ir/internal_ops.def):
// training-mode BatchNormalization with batch statistics, and its backward, each one pass of
// plain loops per channel (channels in parallel) instead of the dozen broadcasting elementwise
// ops and reductions the standard-op lowering needs. float32 only: training graphs are float32.
// Synchronised BatchNorm adds BatchNormStats (this process's per-channel count, sum and sum of
// squares, summed over the ranks by an AllReduce) and the optional inputs through which the
// other two take statistics and gradient sums of every rank instead of their own.
//
// Sums run in 8 explicit float lanes (so they vectorise without -ffast-math, which the compiler
// needs to reorder a single accumulator) flushed into double every 2048 elements, so the
// statistics stay accurate on large planes. The variance is taken around a shift (the channel's
// first value), which keeps E[x^2] - E[x]^2 from cancelling when the mean is large.
//
// A Relu that only reads the normalised value is fused into both (autograd/training_forward):
// BatchNormTraining with relu=1 writes max(0, y) (NaN kept, as Relu), and BatchNormGrad given
// that output as input 8 lets dY through only where it is > 0 (ReluGrad's mask), so neither the
// Relu nor its gradient makes another pass over the activation.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

// X [N, C, spatial...]: N, C and the size of one (n, c) plane.
struct ChannelLayout {
  int64_t n = 0, c = 0, plane = 1;
  double count() const { return static_cast<double>(n * plane); }
};

ChannelLayout channel_layout(OpContext& ctx, const ir::Tensor& x) {
  if (x.dims.size() < 2) fail(ctx, "X must have rank >= 2 (N, C, ...)");
  ChannelLayout l{x.dims[0], x.dims[1], ops::dims_product(x.dims, 2, x.dims.size())};
  if (l.n * l.plane == 0) fail(ctx, "X has no elements per channel");
  return l;
}

constexpr int kLanes = 8;
constexpr int64_t kFlush = 2048;  // elements per lane flush into double

struct PairSums {
  double first = 0, second = 0;
};

// sum(x - shift) and sum((x - shift)^2) over n values.
PairSums centred_sums(const float* x, int64_t n, float shift) {
  PairSums total;
  for (int64_t start = 0; start < n; start += kFlush) {
    const int64_t end = std::min(n, start + kFlush);
    float s1[kLanes] = {}, s2[kLanes] = {};
    int64_t i = start;
    for (; i + kLanes <= end; i += kLanes)
      for (int k = 0; k < kLanes; ++k) {
        const float d = x[i + k] - shift;
        s1[k] += d;
        s2[k] += d * d;
      }
    for (; i < end; ++i) {
      const float d = x[i] - shift;
      s1[0] += d;
      s2[0] += d * d;
    }
    for (int k = 0; k < kLanes; ++k) total.first += s1[k], total.second += s2[k];
  }
  return total;
}

// dY as the fused Relu's backward passes it: where the Relu's output y is > 0 (no Relu: all),
// else +0 (ReluGrad's value, bit for bit). The select is a bit mask: written as a conditional,
// the compiler keeps a branch on a mask that is random on real activations and the loops do not
// vectorise (8x slower measured).
template <bool relu>
[[gnu::always_inline]] inline float passed(const float* dy, const float* y, int64_t i) {
  if constexpr (relu) {
    const uint32_t keep = 0u - static_cast<uint32_t>(y[i] > 0.0f);
    return std::bit_cast<float>(std::bit_cast<uint32_t>(dy[i]) & keep);
  } else {
    return dy[i];
  }
}

// sum(dy) and sum(dy * (x - mean)) over n values (dy masked by y with relu).
template <bool relu>
PairSums grad_sums(const float* dy, const float* x, const float* y, int64_t n, float mean) {
  PairSums total;
  for (int64_t start = 0; start < n; start += kFlush) {
    const int64_t end = std::min(n, start + kFlush);
    float s1[kLanes] = {}, s2[kLanes] = {};
    int64_t i = start;
    for (; i + kLanes <= end; i += kLanes)
      for (int k = 0; k < kLanes; ++k) {
        const float d = passed<relu>(dy, y, i + k);
        s1[k] += d;
        s2[k] += d * (x[i + k] - mean);
      }
    for (; i < end; ++i) {
      const float d = passed<relu>(dy, y, i);
      s1[0] += d;
      s2[0] += d * (x[i] - mean);
    }
    for (int k = 0; k < kLanes; ++k) total.first += s1[k], total.second += s2[k];
  }
  return total;
}

const float* channel_values(OpContext& ctx, size_t index, int64_t c) {
  const ir::Tensor& t = ctx.input(index);
  if (static_cast<int64_t>(t.numel()) != c) fail(ctx, "input " + std::to_string(index) + " must hold one value per channel");
  return t.data<float>();
}

// Mean and biased variance of channel `ch` of X [N, C, ...] (count = l.count()).
struct Moments {
  double mean = 0, var = 0;
};

Moments channel_moments(const float* xv, const ChannelLayout& l, size_t ch) {
  const float shift = xv[static_cast<int64_t>(ch) * l.plane];
  PairSums sums;
  for (int64_t b = 0; b < l.n; ++b) {
    const PairSums part = centred_sums(xv + (b * l.c + static_cast<int64_t>(ch)) * l.plane, l.plane, shift);
    sums.first += part.first;
    sums.second += part.second;
  }
  const double centred_mean = sums.first / l.count();
  const double raw_var = sums.second / l.count() - centred_mean * centred_mean;
  return {shift + centred_mean, raw_var < 0 ? 0.0 : raw_var};  // rounding can dip below 0; NaN stays NaN
}

// Statistics of every rank: BatchNormStats's [3, C] layout summed over the ranks.
struct GlobalStats {
  const double* rows = nullptr;
  int64_t c = 0;
  double count(size_t ch) const { return rows[ch]; }
  Moments moments(size_t ch) const {
    const double n = rows[ch], mean = rows[c + static_cast<int64_t>(ch)] / n;
    const double raw_var = rows[2 * c + static_cast<int64_t>(ch)] / n - mean * mean;
    return {mean, raw_var < 0 ? 0.0 : raw_var};
  }
};

GlobalStats global_stats(OpContext& ctx, size_t index, int64_t c) {
  const ir::Tensor& t = ctx.input(index);
  if (t.dtype != ir::DataType::float64 || t.dims != std::vector<int64_t>{3, c})
    fail(ctx, "input " + std::to_string(index) + " must be float64 statistics [3, " + std::to_string(c) + "] (BatchNormStats)");
  const GlobalStats stats{t.data<double>(), c};
  for (int64_t ch = 0; ch < c; ++ch)
    if (!(stats.count(static_cast<size_t>(ch)) >= 1)) fail(ctx, "the statistics count no elements for channel " + std::to_string(ch));
  return stats;
}

// Per channel of this process's X: count, sum x, sum x^2, the last as the centred sum of
// squares plus count * mean^2 (both in double), so the variance of summed statistics keeps the
// accuracy of the shifted one.
void batchnorm_stats(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ChannelLayout l = channel_layout(ctx, x);
  const float* xv = x.data<float>();
  ir::Tensor& out = ctx.allocate_output(0, ir::DataType::float64, {3, l.c});
  double* rows = reinterpret_cast<double*>(out.storage->mutable_data() + out.offset);
  ctx.threads().parallel_for(static_cast<size_t>(l.c), 1, [&](size_t lo, size_t hi) {
    for (size_t ch = lo; ch < hi; ++ch) {
      const Moments m = channel_moments(xv, l, ch);
      const auto at = static_cast<int64_t>(ch);
      rows[at] = l.count();
      rows[l.c + at] = l.count() * m.mean;
      rows[2 * l.c + at] = l.count() * (m.var + m.mean * m.mean);
    }
  });
}

// Y = (X - mean) / sqrt(var + eps) * scale + B with mean / var (biased) of each channel, over
// this X or, with input 3, over every rank's; relu=1: max(0, Y).
void batchnorm_training(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ChannelLayout l = channel_layout(ctx, x);
  const float* scale = channel_values(ctx, 1, l.c);
  const float* bias = channel_values(ctx, 2, l.c);
  const bool synced = ctx.has_input(3);
  const GlobalStats all = synced ? global_stats(ctx, 3, l.c) : GlobalStats{};
  const float eps = ctx.node().attr_float("epsilon", 1e-5f);
  const bool relu = ctx.node().attr_int("relu", 0) != 0;
  const float* xv = x.data<float>();
  float* y = mutable_floats(ctx.allocate_output(0, ir::DataType::float32, x.dims));
  float* mean = mutable_floats(ctx.allocate_output(1, ir::DataType::float32, {l.c}));
  float* var = mutable_floats(ctx.allocate_output(2, ir::DataType::float32, {l.c}));
  float* var_unbiased = ctx.output_count() > 3 && ctx.output_wanted(3)
                            ? mutable_floats(ctx.allocate_output(3, ir::DataType::float32, {l.c}))
                            : nullptr;
  ctx.threads().parallel_for(static_cast<size_t>(l.c), 1, [&](size_t lo, size_t hi) {
    for (size_t ch = lo; ch < hi; ++ch) {
      const Moments moments = synced ? all.moments(ch) : channel_moments(xv, l, ch);
      const double m = moments.mean, v = moments.var, count = synced ? all.count(ch) : l.count();
      mean[ch] = static_cast<float>(m);
      var[ch] = static_cast<float>(v);
      if (var_unbiased) var_unbiased[ch] = static_cast<float>(count > 1 ? v * count / (count - 1) : v);
      const float mf = static_cast<float>(m), a = static_cast<float>(scale[ch] / std::sqrt(v + eps)), beta = bias[ch];
      for (int64_t b = 0; b < l.n; ++b) {
        const int64_t offset = (b * l.c + static_cast<int64_t>(ch)) * l.plane;
        if (relu)
          for (int64_t i = 0; i < l.plane; ++i) {
            const float v = (xv[offset + i] - mf) * a + beta;
            y[offset + i] = !(v <= 0.0f) ? v : 0.0f;  // as Relu: NaN kept
          }
        else
          for (int64_t i = 0; i < l.plane; ++i) y[offset + i] = (xv[offset + i] - mf) * a + beta;
      }
    }
  });
}

// With xhat = (X - mean) * inv, inv = 1 / sqrt(var + eps), sums over each channel:
// dB = sum dY, dScale = sum dY * xhat, dX = scale * inv * (dY - dB / count - xhat * dScale / count);
// with inputs 5-7 dX takes dB, dScale and count of every rank from them. With input 8 (the
// fused Relu's output Y), dY is first masked by Y > 0.
template <bool relu>
void batchnorm_grad(OpContext& ctx) {
  const ir::Tensor& dy = ctx.input(0);
  const ir::Tensor& x = ctx.input(1);
  if (dy.dims != x.dims) fail(ctx, "dY and X must have the same shape");
  const ChannelLayout l = channel_layout(ctx, x);
  const float* scale = channel_values(ctx, 2, l.c);
  const float* mean = channel_values(ctx, 3, l.c);
  const float* var = channel_values(ctx, 4, l.c);
  const float eps = ctx.node().attr_float("epsilon", 1e-5f);
  const float* g = dy.data<float>();
  const float* xv = x.data<float>();
  const float* yv = nullptr;
  if constexpr (relu) {
    if (ctx.input(8).dims != x.dims) fail(ctx, "Y (input 8) and X must have the same shape");
    yv = ctx.input(8).data<float>();
  }
  float* dx = ctx.output_wanted(0) ? mutable_floats(ctx.allocate_output(0, ir::DataType::float32, x.dims)) : nullptr;
  float* dscale = ctx.output_wanted(1) ? mutable_floats(ctx.allocate_output(1, ir::DataType::float32, {l.c})) : nullptr;
  float* dbias = ctx.output_wanted(2) ? mutable_floats(ctx.allocate_output(2, ir::DataType::float32, {l.c})) : nullptr;
  const bool synced = ctx.has_input(5) || ctx.has_input(6) || ctx.has_input(7);
  const float* all_dscale = synced ? channel_values(ctx, 5, l.c) : nullptr;
  const float* all_dbias = synced ? channel_values(ctx, 6, l.c) : nullptr;
  const GlobalStats all = synced ? global_stats(ctx, 7, l.c) : GlobalStats{};
  ctx.threads().parallel_for(static_cast<size_t>(l.c), 1, [&](size_t lo, size_t hi) {
    for (size_t ch = lo; ch < hi; ++ch) {
      const double inv = 1.0 / std::sqrt(static_cast<double>(var[ch]) + eps);
      const float m = mean[ch];
      double sum_dy = 0, sum_dy_centred = 0;
      if (dscale || dbias || !synced)
        for (int64_t b = 0; b < l.n; ++b) {
          const int64_t offset = (b * l.c + static_cast<int64_t>(ch)) * l.plane;
          const PairSums part = grad_sums<relu>(g + offset, xv + offset, relu ? yv + offset : nullptr, l.plane, m);
          sum_dy += part.first;
          sum_dy_centred += part.second;
        }
      double d_scale = sum_dy_centred * inv;
      if (dscale) dscale[ch] = static_cast<float>(d_scale);
      if (dbias) dbias[ch] = static_cast<float>(sum_dy);
      if (!dx) continue;
      double count = l.count();
      if (synced) d_scale = all_dscale[ch], sum_dy = all_dbias[ch], count = all.count(ch);
      const float k = static_cast<float>(scale[ch] * inv), mean_dy = static_cast<float>(sum_dy / count);
      const float xhat_k = static_cast<float>(inv * d_scale / count);
      for (int64_t b = 0; b < l.n; ++b) {
        const int64_t offset = (b * l.c + static_cast<int64_t>(ch)) * l.plane;
        const float* y_plane = relu ? yv + offset : nullptr;
        for (int64_t i = 0; i < l.plane; ++i)
          dx[offset + i] = k * (passed<relu>(g + offset, y_plane, i) - mean_dy - (xv[offset + i] - m) * xhat_k);
      }
    }
  });
}

void batchnorm_grad_any(OpContext& ctx) {
  if (ctx.input_count() > 8 && ctx.has_input(8)) batchnorm_grad<true>(ctx);
  else batchnorm_grad<false>(ctx);
}

// float32, but for the float64 statistics of synchronised BatchNorm (BatchNormTraining's input
// 3, BatchNormGrad's input 7). Absent optional inputs come as undefined.
template <size_t stats_input>
bool float32_but_stats(const ir::Node&, std::span<const ir::DataType> types) {
  for (size_t i = 0; i < types.size(); ++i)
    if (types[i] != (i == stats_input ? ir::DataType::float64 : ir::DataType::float32) && types[i] != ir::DataType::undefined) return false;
  return !types.empty();
}

bool all_float32(const ir::Node&, std::span<const ir::DataType> types) {
  for (ir::DataType t : types)
    if (t != ir::DataType::float32) return false;
  return !types.empty();
}

}  // namespace

void add_norm_train_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::BatchNormTraining, KernelKind::reference, batchnorm_training, float32_but_stats<3>});
  table.push_back({ir::OpKind::BatchNormGrad, KernelKind::reference, batchnorm_grad_any, float32_but_stats<7>});
  table.push_back({ir::OpKind::BatchNormStats, KernelKind::reference, batchnorm_stats, all_float32});
}

}  // namespace mhub::engine::cpu
