// Fast float32 GlobalAveragePool, plain or (4-D) channels-last (mhub_layout_in,
// passes/channels_last.h), sums in double as the reference (channel_means, shared with
// SqueezeExcitation).
//
// Fast float32 2-D MaxPool on NCHW tensors (no Indices output, storage_order 0): plain loops over
// the window with the geometry of conv_geometry.h, threaded over the N x C planes. oneDNN 2.7's
// pooling on plain NCHW memory falls back to a slow generic implementation on AVX2 machines
// (resnet's 3x3/2 stem pool took a quarter of the model's time), so this kernel is registered
// ahead of it. Same comparisons as the reference: a window's first value, then every larger one
// (a NaN first in its window stays, later NaNs are skipped).
#include <algorithm>
#include <limits>

#include "engine/ops/conv_geometry.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"
#include "engine/cpu/pool_squeeze_excitation.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

void max_pool_2d(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() != 4) fail(ctx, "X must be 4-D");
  std::vector<int64_t> in(x.dims.begin() + 2, x.dims.end());
  ops::ConvGeometry g = ops::conv_geometry(ctx.node(), in, node.attr_ints("kernel_shape"), node.attr_int("ceil_mode", 0) != 0);
  int64_t ih = in[0], iw = in[1], oh = g.out[0], ow = g.out[1];
  int64_t nc = x.dims[0] * x.dims[1];
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, {x.dims[0], x.dims[1], oh, ow});
  const float* src = x.data<float>();
  float* dst = mutable_floats(y);
  int64_t kh = g.kernel[0], kw = g.kernel[1], sh = g.stride[0], sw = g.stride[1];
  int64_t dh = g.dilation[0], dw = g.dilation[1], ph = g.pad_begin[0], pw = g.pad_begin[1];
  // Output columns whose whole window lies inside the row: [c_lo, c_hi).
  int64_t c_lo = std::min(ow, (pw + sw - 1) / sw);
  int64_t c_hi = c_lo;
  while (c_hi < ow && c_hi * sw - pw + (kw - 1) * dw < iw) ++c_hi;
  // Each plane reads its input once (windows overlap in cache) and writes its output.
  ctx.threads().parallel_for(static_cast<size_t>(nc), chunk_for_elements(static_cast<size_t>(ih * iw + oh * ow)), [&](size_t lo, size_t hi) {
    for (size_t plane = lo; plane < hi; ++plane) {
      const float* xi = src + plane * ih * iw;
      float* yo = dst + plane * oh * ow;
      for (int64_t r = 0; r < oh; ++r) {
        int64_t r0 = r * sh - ph;
        float* out = yo + r * ow;
        bool rows_inside = r0 >= 0 && r0 + (kh - 1) * dh < ih;
        // Interior: window positions in row-major order, each over all interior columns (no
        // bounds checks, so the compiler vectorises over columns).
        if (rows_inside && c_hi > c_lo) {
          for (int64_t kr = 0; kr < kh; ++kr) {
            const float* row = xi + (r0 + kr * dh) * iw - pw;
            for (int64_t kc = 0; kc < kw; ++kc) {
              const float* base = row + kc * dw;
              if (kr == 0 && kc == 0)
                for (int64_t c = c_lo; c < c_hi; ++c) out[c] = base[c * sw];
              else
                for (int64_t c = c_lo; c < c_hi; ++c) {
                  float v = base[c * sw];
                  out[c] = v > out[c] ? v : out[c];
                }
            }
          }
        }
        for (int64_t c = 0; c < ow; ++c) {
          if (rows_inside && c >= c_lo && c < c_hi) continue;
          int64_t c0 = c * sw - pw;
          bool found = false;
          float best = 0.0f;
          for (int64_t kr = 0; kr < kh; ++kr) {
            int64_t q = r0 + kr * dh;
            if (q < 0 || q >= ih) continue;
            const float* row = xi + q * iw;
            for (int64_t kc = 0; kc < kw; ++kc) {
              int64_t p = c0 + kc * dw;
              if (p < 0 || p >= iw) continue;
              float v = row[p];
              if (!found || v > best) best = v;
              found = true;
            }
          }
          // A window entirely in the padding (possible with ceil_mode) has no value: -inf,
          // as the reference's starting point.
          out[c] = found ? best : -std::numeric_limits<float>::infinity();
        }
      }
    }
  });
}

bool channels_last_marked(const ir::Node& node) {
  return !node.attr_string("mhub_layout_in", "").empty() || !node.attr_string("mhub_layout_out", "").empty();
}

// Channels-last MaxPool is pool_dnnl's (oneDNN is fast on NHWC).
bool max_pool_2d_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  if (types.empty() || types[0] != ir::DataType::float32 || channels_last_marked(node)) return false;
  if (node.outputs.size() > 1 && !node.outputs[1].empty()) return false;
  if (node.attr_int("storage_order", 0) != 0) return false;
  return node.attr_ints("kernel_shape").size() == 2;
}

void global_average_pool(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() < 2) fail(ctx, "X must have rank >= 2");
  const int64_t n = x.dims[0], c = x.dims[1], hw = ops::dims_product(x.dims, 2, x.dims.size());
  std::vector<int64_t> yd(x.dims.size(), 1);
  yd[0] = n;
  yd[1] = c;
  ir::Tensor& y = ctx.allocate_output(0, ir::DataType::float32, yd);
  const bool channels_last = x.dims.size() == 4 && ctx.node().attr_string("mhub_layout_in", "") == "nhwc";
  channel_means(x.data<float>(), n, c, hw, channels_last, mutable_floats(y), ctx.threads());
}

bool global_average_pool_supports(const ir::Node&, std::span<const ir::DataType> types) {
  return !types.empty() && types[0] == ir::DataType::float32;
}

}  // namespace

void add_pool_fast_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::MaxPool, KernelKind::fast, max_pool_2d, max_pool_2d_supports});
  table.push_back({ir::OpKind::GlobalAveragePool, KernelKind::fast, global_average_pool, global_average_pool_supports, 0,
                   /*channels_last=*/true});
}

}  // namespace mhub::engine::cpu
