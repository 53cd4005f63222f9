// ReluGrad and ClipGrad (mhub-internal ops, engine/ir/internal_ops.def): the masks of Relu's and
// Clip's backward in one parallel pass, where the standard-op form needs a comparison, an And
// and a broadcasting Where. float32 only: training graphs are float32.
#include <limits>

#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/nn_util.h"

namespace mhub::engine::cpu {

namespace {

constexpr size_t kGradChunk = 1 << 14;

// dX = keep(X) ? dY : 0 elementwise, dY and X of one shape.
template <typename Keep>
void masked_grad(OpContext& ctx, Keep keep) {
  const ir::Tensor& dy = ctx.input(0);
  const ir::Tensor& x = ctx.input(1);
  if (dy.dims != x.dims) fail(ctx, "dY and its mask input must have the same shape");
  const float* g = dy.data<float>();
  const float* v = x.data<float>();
  float* out = mutable_floats(ctx.allocate_output(0, ir::DataType::float32, dy.dims));
  ctx.threads().parallel_for(dy.numel(), kGradChunk, [&](size_t lo, size_t hi) {
    for (size_t i = lo; i < hi; ++i) out[i] = keep(v[i]) ? g[i] : 0.0f;
  });
}

// Y > 0 (NaN is not): Relu's output carries the same mask as its input.
void relu_grad(OpContext& ctx) {
  masked_grad(ctx, [](float y) { return y > 0.0f; });
}

void clip_grad(OpContext& ctx) {
  const ir::Node& node = ctx.node();
  const float lo = node.attribute("min") ? node.attr_float("min", 0) : -std::numeric_limits<float>::infinity();
  const float hi = node.attribute("max") ? node.attr_float("max", 0) : std::numeric_limits<float>::infinity();
  masked_grad(ctx, [lo, hi](float x) { return x >= lo && x <= hi; });
}

bool two_float32(const ir::Node&, std::span<const ir::DataType> types) {
  return types.size() == 2 && types[0] == ir::DataType::float32 && types[1] == ir::DataType::float32;
}

}  // namespace

void add_activation_grad_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::ReluGrad, KernelKind::reference, relu_grad, two_float32});
  table.push_back({ir::OpKind::ClipGrad, KernelKind::reference, clip_grad, two_float32});
}

}  // namespace mhub::engine::cpu
