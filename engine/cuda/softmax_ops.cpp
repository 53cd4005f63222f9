// Softmax and LogSoftmax on the CUDA backend (float32) with an own kernel (softmax.cu), with the
// CPU's axis rules.
#include "common/error.h"
#include "engine/core/op_context.h"
#include "engine/cuda/cuda_context.h"
#include "engine/cuda/cuda_kernels.h"
#include "engine/cuda/softmax.cuh"
#include "engine/ops/shape.h"

namespace mhub::engine::cuda {

namespace {

void softmax(OpContext& ctx, bool log) {
  const ir::Tensor& x = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  if (rank == 0 || y.numel() == 0) {
    if (rank == 0) throw_error(ErrorCategory::unsupported, ctx.describe() + ": a scalar Softmax is left to the CPU");
    return;
  }
  // The CPU's axis rules (softmax.cpp): opset < 13 flattens from the axis, 13+ uses one axis.
  const bool single_axis = ctx.opset() >= 13;
  const int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", single_axis ? -1 : 1), rank);
  const int64_t outer = ops::dims_product(x.dims, 0, static_cast<size_t>(axis));
  const int64_t length = single_axis ? x.dims[axis] : ops::dims_product(x.dims, static_cast<size_t>(axis), x.dims.size());
  const int64_t inner = single_axis ? ops::dims_product(x.dims, static_cast<size_t>(axis + 1), x.dims.size()) : 1;
  softmax_f32(x.data<float>(), device_floats(y), outer, length, inner, log, current_context().stream);
}
void softmax_op(OpContext& ctx) { softmax(ctx, false); }
void log_softmax_op(OpContext& ctx) { softmax(ctx, true); }

}  // namespace

void add_softmax_kernels(std::vector<KernelDef>& table) {
  const KernelKind fast = KernelKind::fast;
  table.push_back({ir::OpKind::Softmax, fast, softmax_op, float32_inputs});
  table.push_back({ir::OpKind::LogSoftmax, fast, log_softmax_op, float32_inputs});
}

}  // namespace mhub::engine::cuda
