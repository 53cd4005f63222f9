// Pooling as training runs it: a fast 2-D float32 MaxPool that also writes the Indices output
// (what the training graph's MaxPool produces for the backward pass; the oneDNN MaxPool has no
// ONNX indices), and MaxPoolGrad (mhub-internal op, engine/ir/internal_ops.def), which adds dY
// onto the positions the indices name, one (n, c) plane per job.
#include <algorithm>
#include <atomic>
#include <limits>

#include "engine/cpu/conv_geometry.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"

namespace mhub::engine::cpu {

namespace {

// Same result as the reference MaxPool (pool.cpp): windows scanned row by row, the first
// largest value wins (a NaN met first stays), -inf for a window wholly in the padding; indices
// flat over the whole tensor, row-major within each plane.
void max_pool_2d_indices(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() != 4) fail(ctx, "the fast MaxPool with indices takes rank-4 input");
  std::vector<int64_t> in = {x.dims[2], x.dims[3]};
  ConvGeometry g = conv_geometry(ctx, in, node.attr_ints("kernel_shape"), node.attr_int("ceil_mode", 0) != 0);
  const int64_t planes = x.dims[0] * x.dims[1], h = in[0], w = in[1], oh = g.out[0], ow = g.out[1];
  const std::vector<int64_t> yd = {x.dims[0], x.dims[1], oh, ow};
  float* y = mutable_floats(ctx.allocate_output(0, ir::DataType::float32, yd));
  ir::Tensor& it = ctx.allocate_output(1, ir::DataType::int64, yd);
  int64_t* indices = reinterpret_cast<int64_t*>(it.storage->mutable_data() + it.offset);
  const float* xv = x.data<float>();
  ctx.threads().parallel_for(static_cast<size_t>(planes), 1, [&](size_t lo, size_t hi) {
    for (size_t plane = lo; plane < hi; ++plane) {
      const float* src = xv + plane * h * w;
      const int64_t base = static_cast<int64_t>(plane) * h * w, out_base = static_cast<int64_t>(plane) * oh * ow;
      for (int64_t r = 0; r < oh; ++r)
        for (int64_t c = 0; c < ow; ++c) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t best_index = -1;
          for (int64_t kr = 0; kr < g.kernel[0]; ++kr) {
            const int64_t q = r * g.stride[0] - g.pad_begin[0] + kr * g.dilation[0];
            if (q < 0 || q >= h) continue;
            for (int64_t kc = 0; kc < g.kernel[1]; ++kc) {
              const int64_t p = c * g.stride[1] - g.pad_begin[1] + kc * g.dilation[1];
              if (p < 0 || p >= w) continue;
              const float v = src[q * w + p];
              if (best_index < 0 || v > best) {
                best = v;
                best_index = q * w + p;
              }
            }
          }
          y[out_base + r * ow + c] = best;
          // A window wholly in the padding has no position; the reference leaves 0 there.
          indices[out_base + r * ow + c] = best_index < 0 ? 0 : base + best_index;
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
  const int64_t planes = xd[0] * xd[1], in_size = dims_product(xd, 2, xd.size()), out_size = dims_product(dy.dims, 2, dy.dims.size());
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
