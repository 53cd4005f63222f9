// Pooling as training runs it: a fast 2-D float32 MaxPool that also writes the Indices output
// (what the training graph's MaxPool produces for the backward pass; the oneDNN MaxPool has no
// ONNX indices), and MaxPoolGrad (mhub-internal op, engine/ir/internal_ops.def), which adds dY
// onto the positions the indices name, one (n, c) plane per job.
#include <algorithm>
#include <atomic>
#include <limits>

#include "engine/ops/conv_geometry.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cpu {

namespace {

// The taps [lo, hi) of one window along one axis that land inside the input, and where tap 0
// lands (may be in the padding).
struct TapRange {
  int64_t lo = 0, hi = 0, origin = 0;
};

TapRange taps_inside(int64_t out_pos, int64_t stride, int64_t pad, int64_t dilation, int64_t kernel, int64_t size) {
  TapRange t;
  t.origin = out_pos * stride - pad;
  while (t.lo < kernel && t.origin + t.lo * dilation < 0) ++t.lo;
  t.hi = kernel;
  while (t.hi > t.lo && t.origin + (t.hi - 1) * dilation >= size) --t.hi;
  return t;
}

// Same result as the reference MaxPool (pool.cpp): windows scanned row by row, the first
// largest value wins (a NaN met first stays), -inf for a window wholly in the padding; indices
// flat over the whole tensor, row-major within each plane. Tap ranges are worked out once per
// row and column, so the inner loop has no bounds checks, and the running maximum is a
// branch-free select (a data-dependent branch mispredicts on real activations).
void max_pool_2d_indices(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() != 4) fail(ctx, "the fast MaxPool with indices takes rank-4 input");
  std::vector<int64_t> in = {x.dims[2], x.dims[3]};
  ops::ConvGeometry g = ops::conv_geometry(ctx.node(), in, node.attr_ints("kernel_shape"), node.attr_int("ceil_mode", 0) != 0);
  const int64_t planes = x.dims[0] * x.dims[1], h = in[0], w = in[1], oh = g.out[0], ow = g.out[1];
  const std::vector<int64_t> yd = {x.dims[0], x.dims[1], oh, ow};
  float* y = mutable_floats(ctx.allocate_output(0, ir::DataType::float32, yd));
  ir::Tensor& it = ctx.allocate_output(1, ir::DataType::int64, yd);
  int64_t* indices = reinterpret_cast<int64_t*>(it.storage->mutable_data() + it.offset);
  const float* xv = x.data<float>();
  std::vector<TapRange> rows(static_cast<size_t>(oh)), cols(static_cast<size_t>(ow));
  for (int64_t r = 0; r < oh; ++r) rows[r] = taps_inside(r, g.stride[0], g.pad_begin[0], g.dilation[0], g.kernel[0], h);
  for (int64_t c = 0; c < ow; ++c) cols[c] = taps_inside(c, g.stride[1], g.pad_begin[1], g.dilation[1], g.kernel[1], w);
  const int64_t dr = g.dilation[0], dc = g.dilation[1];
  ctx.threads().parallel_for(static_cast<size_t>(planes), 1, [&](size_t lo, size_t hi) {
    for (size_t plane = lo; plane < hi; ++plane) {
      const float* src = xv + plane * h * w;
      const int64_t base = static_cast<int64_t>(plane) * h * w, out_base = static_cast<int64_t>(plane) * oh * ow;
      for (int64_t r = 0; r < oh; ++r) {
        const TapRange& tr = rows[r];
        for (int64_t c = 0; c < ow; ++c) {
          const TapRange& tc = cols[c];
          const int64_t at = out_base + r * ow + c;
          if (tr.lo >= tr.hi || tc.lo >= tc.hi) {  // wholly in the padding; the reference leaves index 0
            y[at] = -std::numeric_limits<float>::infinity();
            indices[at] = 0;
            continue;
          }
          int64_t best_index = (tr.origin + tr.lo * dr) * w + tc.origin + tc.lo * dc;
          float best = src[best_index];
          for (int64_t kr = tr.lo; kr < tr.hi; ++kr) {
            const int64_t row = (tr.origin + kr * dr) * w;
            for (int64_t kc = tc.lo; kc < tc.hi; ++kc) {
              const int64_t index = row + tc.origin + kc * dc;
              const float v = src[index];
              const bool larger = v > best;  // false against NaN: a NaN met first stays
              best = larger ? v : best;
              best_index = larger ? index : best_index;
            }
          }
          y[at] = best;
          indices[at] = base + best_index;
        }
      }
    }
  });
}

bool max_pool_2d_indices_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  if (types.empty() || types[0] != ir::DataType::float32) return false;
  if (node.outputs.size() < 2 || node.outputs[1].empty()) return false;  // oneDNN's kernel does the rest
  return node.attr_int("storage_order", 0) == 0 && node.attr_ints("kernel_shape").size() == 2;
}

// dX = zeros(input_shape); dX.flat[Indices[i]] += dY[i]. Each plane's indices must lie in that
// plane (what MaxPool writes), so planes run in parallel without sharing a value.
void max_pool_grad(OpContext& ctx) {
  const ir::Tensor& dy = ctx.input(0);
  const ir::Tensor& idx = ctx.input(1);
  if (idx.dtype != ir::DataType::int64 || idx.dims != dy.dims) fail(ctx, "Indices must be int64 shaped like dY");
  const std::vector<int64_t> xd = ctx.node().attr_ints("input_shape");
  if (xd.size() != dy.dims.size() || xd.size() < 3 || xd[0] != dy.dims[0] || xd[1] != dy.dims[1])
    fail(ctx, "input_shape must be MaxPool's input shape (same N and C as dY)");
  const int64_t planes = xd[0] * xd[1], in_size = ops::dims_product(xd, 2, xd.size()), out_size = ops::dims_product(dy.dims, 2, dy.dims.size());
  float* dx = mutable_floats(ctx.allocate_output(0, ir::DataType::float32, xd));
  const float* g = dy.data<float>();
  const int64_t* where = idx.data<int64_t>();
  std::atomic<bool> outside{false};
  ctx.threads().parallel_for(static_cast<size_t>(planes), 1, [&](size_t lo, size_t hi) {
    for (size_t plane = lo; plane < hi; ++plane) {
      float* out = dx + plane * in_size;
      std::fill(out, out + in_size, 0.0f);
      const int64_t base = static_cast<int64_t>(plane) * in_size;
      for (int64_t o = 0; o < out_size; ++o) {
        const int64_t at = where[plane * out_size + o] - base;
        if (at < 0 || at >= in_size) {
          outside = true;
          continue;
        }
        out[at] += g[plane * out_size + o];
      }
    }
  });
  if (outside) fail(ctx, "an index lies outside its (n, c) plane; Indices must come from MaxPool with storage_order 0");
}

bool max_pool_grad_supports(const ir::Node&, std::span<const ir::DataType> types) {
  return types.size() == 2 && types[0] == ir::DataType::float32 && types[1] == ir::DataType::int64;
}

}  // namespace

void add_pool_train_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::MaxPool, KernelKind::fast, max_pool_2d_indices, max_pool_2d_indices_supports});
  table.push_back({ir::OpKind::MaxPoolGrad, KernelKind::reference, max_pool_grad, max_pool_grad_supports});
}

}  // namespace mhub::engine::cpu
