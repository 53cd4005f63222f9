// Pooling: MaxPool (indices, ceil_mode, dilations, storage_order), AveragePool
// (count_include_pad), LpPool, GlobalAveragePool, GlobalMaxPool, GlobalLpPool, MaxUnpool,
// MaxRoiPool. Reference kernels over any number of spatial axes, computing in float (8-bit
// integer MaxPool is exact in float). The internal SqueezeExcitation's reference: the unfused
// nodes' reference formulas in their order.
#include <cmath>
#include <limits>

#include "engine/ops/conv_geometry.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/pool_squeeze_excitation.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

enum class PoolKind { max, average, lp };

void pool(OpContext& ctx, PoolKind kind) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() < 3) fail(ctx, "X must have rank >= 3 (N, C, spatial...)");
  size_t rank = x.dims.size() - 2;
  std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end());
  std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
  if (kernel.size() != rank) fail(ctx, "kernel_shape must have one entry per spatial axis");
  bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
  ops::ConvGeometry g = ops::conv_geometry(ctx.node(), in, kernel, ceil_mode);
  bool include_pad = node.attr_int("count_include_pad", 0) != 0;
  float p = static_cast<float>(node.attr_int("p", 2));
  bool column_major = node.attr_int("storage_order", 0) != 0;
  int64_t nc = x.dims[0] * x.dims[1];
  int64_t in_size = ops::dims_product(in, 0, rank), out_size = ops::dims_product(g.out, 0, rank);
  int64_t k_size = ops::dims_product(kernel, 0, rank);
  std::vector<float> xv = input_floats(ctx, 0);
  std::vector<float> y(static_cast<size_t>(nc * out_size));
  std::vector<int64_t> indices(kind == PoolKind::max ? y.size() : 0);
  ctx.threads().parallel_for(static_cast<size_t>(nc), 1, [&](size_t lo, size_t hi) {
    std::vector<int64_t> opos(rank), kpos(rank), ipos(rank);
    for (size_t plane = lo; plane < hi; ++plane) {
      const float* xi = xv.data() + plane * in_size;
      for (int64_t o = 0; o < out_size; ++o) {
        int64_t rest = o;
        for (size_t d = rank; d-- > 0;) { opos[d] = rest % g.out[d]; rest /= g.out[d]; }
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_index = -1;
        double sum = 0;
        int64_t count = 0, padded_count = 0;
        for (int64_t kk = 0; kk < k_size; ++kk) {
          int64_t krest = kk;
          for (size_t d = rank; d-- > 0;) { kpos[d] = krest % kernel[d]; krest /= kernel[d]; }
          bool inside = true, inside_padded = true;
          int64_t off = 0;
          for (size_t d = 0; d < rank; ++d) {
            int64_t q = opos[d] * g.stride[d] - g.pad_begin[d] + kpos[d] * g.dilation[d];
            if (q < 0 || q >= in[d]) inside = false;
            if (q < -g.pad_begin[d] || q >= in[d] + g.pad_end[d]) inside_padded = false;
            ipos[d] = q;
            off = off * in[d] + q;
          }
          if (inside_padded) ++padded_count;
          if (!inside) continue;
          float v = xi[off];
          ++count;
          if (kind == PoolKind::max) {
            if (best_index < 0 || v > best) {
              best = v;
              best_index = off;
              int64_t stored = off;
              if (column_major) {
                stored = 0;
                for (size_t d = rank; d-- > 0;) stored = stored * in[d] + ipos[d];
              }
              indices[plane * out_size + o] = plane * in_size + stored;
            }
          } else if (kind == PoolKind::average) {
            sum += v;
          } else {
            sum += std::pow(std::fabs(static_cast<double>(v)), p);
          }
        }
        float& out = y[plane * out_size + o];
        if (kind == PoolKind::max) {
          out = best_index < 0 ? -std::numeric_limits<float>::infinity() : best;
        } else if (kind == PoolKind::average) {
          int64_t div = include_pad ? padded_count : count;
          out = div ? static_cast<float>(sum / div) : 0.0f;
        } else {
          out = static_cast<float>(std::pow(sum, 1.0 / p));
        }
      }
    }
  });
  std::vector<int64_t> yd = {x.dims[0], x.dims[1]};
  yd.insert(yd.end(), g.out.begin(), g.out.end());
  output_floats(ctx, 0, x.dtype, yd, y.data());
  if (kind == PoolKind::max && ctx.output_count() > 1 && ctx.output_wanted(1)) {
    ir::Tensor& it = ctx.allocate_output(1, ir::DataType::int64, yd);
    int64_t* out = reinterpret_cast<int64_t*>(it.storage->mutable_data() + it.offset);
    for (size_t i = 0; i < indices.size(); ++i) out[i] = indices[i];
  }
}

void max_pool(OpContext& ctx) { pool(ctx, PoolKind::max); }
void average_pool(OpContext& ctx) { pool(ctx, PoolKind::average); }
void lp_pool(OpContext& ctx) { pool(ctx, PoolKind::lp); }

void global_pool(OpContext& ctx, PoolKind kind) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() < 2) fail(ctx, "X must have rank >= 2");
  int64_t nc = x.dims[0] * x.dims[1], size = ops::dims_product(x.dims, 2, x.dims.size());
  float p = static_cast<float>(ctx.node().attr_int("p", 2));
  std::vector<float> xv = input_floats(ctx, 0), y(static_cast<size_t>(nc));
  ctx.threads().parallel_for(static_cast<size_t>(nc), 16, [&](size_t lo, size_t hi) {
    for (size_t plane = lo; plane < hi; ++plane) {
      const float* xi = xv.data() + plane * size;
      if (kind == PoolKind::max) {
        float best = -std::numeric_limits<float>::infinity();
        for (int64_t i = 0; i < size; ++i)
          if (xi[i] > best || std::isnan(xi[i])) best = xi[i];
        y[plane] = best;
      } else if (kind == PoolKind::average) {
        double s = 0;
        for (int64_t i = 0; i < size; ++i) s += xi[i];
        y[plane] = size ? static_cast<float>(s / size) : 0.0f;
      } else {
        double s = 0;
        for (int64_t i = 0; i < size; ++i) s += std::pow(std::fabs(static_cast<double>(xi[i])), p);
        y[plane] = static_cast<float>(std::pow(s, 1.0 / p));
      }
    }
  });
  std::vector<int64_t> yd = {x.dims[0], x.dims[1]};
  yd.resize(x.dims.size(), 1);
  output_floats(ctx, 0, x.dtype, yd, y.data());
}
void global_max_pool(OpContext& ctx) { global_pool(ctx, PoolKind::max); }
void global_average_pool(OpContext& ctx) { global_pool(ctx, PoolKind::average); }
void global_lp_pool(OpContext& ctx) { global_pool(ctx, PoolKind::lp); }

// MaxUnpool: X, I (flat indices from MaxPool), optional output_shape.
void max_unpool(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  size_t rank = x.dims.size() - 2;
  // Indices address the default output shape; an explicit output_shape pads that at the end
  // of every axis.
  std::vector<int64_t> k = node.attr_ints("kernel_shape"), s = node.attr_ints("strides"),
                       pads = node.attr_ints("pads");
  if (k.size() != rank) fail(ctx, "kernel_shape must have one entry per spatial axis");
  if (s.empty()) s.assign(rank, 1);
  if (pads.empty()) pads.assign(2 * rank, 0);
  std::vector<int64_t> yd = {x.dims[0], x.dims[1]};
  for (size_t d = 0; d < rank; ++d) yd.push_back((x.dims[d + 2] - 1) * s[d] + k[d] - pads[d] - pads[d + rank]);
  std::vector<float> xv = input_floats(ctx, 0);
  std::vector<int64_t> iv = input_ints(ctx, 1);
  int64_t total = ops::dims_product(yd, 0, yd.size());
  std::vector<float> y(static_cast<size_t>(total), 0.0f);
  for (size_t i = 0; i < xv.size() && i < iv.size(); ++i) {
    if (iv[i] < 0 || iv[i] >= total) fail(ctx, "index " + std::to_string(iv[i]) + " is outside the output");
    y[static_cast<size_t>(iv[i])] = xv[i];
  }
  if (ctx.has_input(2)) {
    std::vector<int64_t> want = input_ints(ctx, 2);
    if (want.size() != yd.size()) fail(ctx, "output_shape must have the rank of X");
    std::vector<float> padded(static_cast<size_t>(ops::dims_product(want, 0, want.size())), 0.0f);
    std::vector<int64_t> idx(yd.size(), 0);
    for (int64_t i = 0; i < total; ++i) {
      int64_t off = 0;
      bool fits = true;
      for (size_t d = 0; d < yd.size(); ++d) {
        if (idx[d] >= want[d]) fits = false;
        off = off * want[d] + idx[d];
      }
      if (fits) padded[off] = y[i];
      for (size_t d = yd.size(); d-- > 0;) { if (++idx[d] < yd[d]) break; idx[d] = 0; }
    }
    y = std::move(padded);
    yd = want;
  }
  output_floats(ctx, 0, x.dtype, yd, y.data());
}

void max_roi_pool(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& rois = ctx.input(1);
  std::vector<int64_t> pooled = node.attr_ints("pooled_shape");
  if (pooled.size() != 2 || x.dims.size() != 4) fail(ctx, "needs 4-D X and a 2-entry pooled_shape");
  float scale = node.attr_float("spatial_scale", 1.0f);
  int64_t c = x.dims[1], h = x.dims[2], w = x.dims[3], ph = pooled[0], pw = pooled[1];
  int64_t num = rois.dims.empty() ? 0 : rois.dims[0];
  std::vector<float> xv = input_floats(ctx, 0), rv = input_floats(ctx, 1);
  std::vector<float> y(static_cast<size_t>(num * c * ph * pw));
  for (int64_t r = 0; r < num; ++r) {
    const float* roi = rv.data() + r * 5;
    int64_t b = static_cast<int64_t>(roi[0]);
    int64_t x1 = std::lround(roi[1] * scale), y1 = std::lround(roi[2] * scale);
    int64_t x2 = std::lround(roi[3] * scale), y2 = std::lround(roi[4] * scale);
    float bh = static_cast<float>(std::max<int64_t>(y2 - y1 + 1, 1)) / ph;
    float bw = static_cast<float>(std::max<int64_t>(x2 - x1 + 1, 1)) / pw;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < ph; ++i)
        for (int64_t j = 0; j < pw; ++j) {
          int64_t hs = std::clamp<int64_t>(static_cast<int64_t>(std::floor(i * bh)) + y1, 0, h);
          int64_t he = std::clamp<int64_t>(static_cast<int64_t>(std::ceil((i + 1) * bh)) + y1, 0, h);
          int64_t ws = std::clamp<int64_t>(static_cast<int64_t>(std::floor(j * bw)) + x1, 0, w);
          int64_t we = std::clamp<int64_t>(static_cast<int64_t>(std::ceil((j + 1) * bw)) + x1, 0, w);
          float best = (he <= hs || we <= ws) ? 0.0f : -std::numeric_limits<float>::infinity();
          for (int64_t yy = hs; yy < he; ++yy)
            for (int64_t xx = ws; xx < we; ++xx)
              best = std::max(best, xv[((b * c + ch) * h + yy) * w + xx]);
          y[((r * c + ch) * ph + i) * pw + j] = best;
        }
  }
  output_floats(ctx, 0, x.dtype, {num, c, ph, pw}, y.data());
}

// GlobalAveragePool's mean (summed in double), then each 1x1 Conv as conv.cpp's reference (a float
// sum from the bias over the inputs in order, then the fused activation), then Mul's product;
// NCHW or channels-last X / Y, every float type widened.
void squeeze_excitation(OpContext& ctx) {
  const SqueezeExcitationDims d = squeeze_excitation_dims(ctx);
  const ir::Tensor& x = ctx.input(0);
  const std::vector<float> xv = input_floats(ctx, 0), w1 = input_floats(ctx, 1), w2 = input_floats(ctx, 3);
  const std::vector<float> b1 = d.has_b1 ? input_floats(ctx, 2) : std::vector<float>(static_cast<size_t>(d.r), 0.0f);
  const std::vector<float> b2 = d.has_b2 ? input_floats(ctx, 4) : std::vector<float>(static_cast<size_t>(d.c), 0.0f);
  const Epilogue hidden_act = squeeze_excitation_activation(ctx.node(), true);
  const Epilogue gate_act = squeeze_excitation_activation(ctx.node(), false);
  // Offset of (image b, channel k, pixel p) in X and Y.
  auto at = [&](int64_t b, int64_t k, int64_t p) {
    return static_cast<size_t>(d.channels_last ? (b * d.hw + p) * d.c + k : (b * d.c + k) * d.hw + p);
  };
  std::vector<float> y(xv.size()), mean(static_cast<size_t>(d.c)), hidden(static_cast<size_t>(d.r)), gate(static_cast<size_t>(d.c));
  for (int64_t b = 0; b < d.n; ++b) {
    for (int64_t k = 0; k < d.c; ++k) {
      double s = 0;
      for (int64_t p = 0; p < d.hw; ++p) s += xv[at(b, k, p)];
      mean[k] = d.hw ? static_cast<float>(s / d.hw) : 0.0f;
    }
    for (int64_t j = 0; j < d.r; ++j) {
      float acc = b1[j];
      for (int64_t k = 0; k < d.c; ++k) acc += mean[k] * w1[j * d.c + k];
      hidden[j] = activation_reference(hidden_act, acc);
    }
    for (int64_t k = 0; k < d.c; ++k) {
      float acc = b2[k];
      for (int64_t j = 0; j < d.r; ++j) acc += hidden[j] * w2[k * d.r + j];
      gate[k] = activation_reference(gate_act, acc);
    }
    for (int64_t k = 0; k < d.c; ++k)
      for (int64_t p = 0; p < d.hw; ++p) y[at(b, k, p)] = xv[at(b, k, p)] * gate[k];
  }
  output_floats(ctx, 0, x.dtype, x.dims, y.data());
}

bool pool_types(const ir::Node&, std::span<const ir::DataType> t) {
  return !t.empty() && (is_nn_float(t[0]) || t[0] == ir::DataType::int8 || t[0] == ir::DataType::uint8);
}

}  // namespace

void add_pool_kernels(std::vector<KernelDef>& table) {
  using ir::OpKind;
  const KernelKind ref = KernelKind::reference;
  table.push_back({OpKind::MaxPool, ref, max_pool, pool_types});
  table.push_back({OpKind::AveragePool, ref, average_pool, nn_float_input});
  table.push_back({OpKind::LpPool, ref, lp_pool, nn_float_input});
  table.push_back({OpKind::GlobalMaxPool, ref, global_max_pool, nn_float_input});
  table.push_back({OpKind::GlobalAveragePool, ref, global_average_pool, nn_float_input});
  table.push_back({OpKind::GlobalLpPool, ref, global_lp_pool, nn_float_input});
  table.push_back({OpKind::MaxUnpool, ref, max_unpool, nn_float_input});
  table.push_back({OpKind::MaxRoiPool, ref, max_roi_pool, nn_float_input});
  table.push_back({OpKind::SqueezeExcitation, ref, squeeze_excitation, nn_float_input, 0, /*channels_last=*/true});
}

}  // namespace mhub::engine::cpu
