// Broadcasting binary ops on the CUDA backend (float32): host side of binary.cu. Other element
// types are left to the CPU (supports() false), which the session then runs.
#include "common/error.h"
#include "engine/core/op_context.h"
#include "engine/cuda/binary.cuh"
#include "engine/cuda/cuda_context.h"
#include "engine/cuda/cuda_kernels.h"
#include "engine/ops/shape.h"

namespace mhub::engine::cuda {

namespace {

// Two-input Max/Min only (the variadic forms with more inputs go to the CPU).
bool two_float32(const ir::Node& node, std::span<const ir::DataType> types) {
  return types.size() == 2 && types[1] == ir::DataType::float32 && float32_inputs(node, types);
}

template <BinaryOp op>
void binary(OpContext& ctx) {
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  const std::vector<int64_t> out_dims = ops::broadcast_shapes(ctx.node(), {a.dims, b.dims});
  ops::BroadcastPlan plan;
  if (!ops::make_broadcast_plan({a.dims, b.dims}, out_dims, plan))
    throw_error(ErrorCategory::unsupported, ctx.describe() + ": the CUDA backend broadcasts up to rank " +
                                                std::to_string(ops::kMaxBroadcastRank) + "; run it with --device cpu");
  ir::Tensor& y = ctx.allocate_output(0, a.dtype, out_dims);
  binary_f32(op, plan, a.data<float>(), b.data<float>(), device_floats(y), current_context().stream);
}

}  // namespace

void add_binary_kernels(std::vector<KernelDef>& table) {
  using K = KernelDef;
  const KernelKind fast = KernelKind::fast;
  table.push_back(K{ir::OpKind::Add, fast, binary<BinaryOp::add>, two_float32});
  table.push_back(K{ir::OpKind::Sub, fast, binary<BinaryOp::sub>, two_float32});
  table.push_back(K{ir::OpKind::Mul, fast, binary<BinaryOp::mul>, two_float32});
  table.push_back(K{ir::OpKind::Div, fast, binary<BinaryOp::div>, two_float32});
  table.push_back(K{ir::OpKind::Pow, fast, binary<BinaryOp::pow>, two_float32});
  table.push_back(K{ir::OpKind::Max, fast, binary<BinaryOp::max>, two_float32});
  table.push_back(K{ir::OpKind::Min, fast, binary<BinaryOp::min>, two_float32});
}

}  // namespace mhub::engine::cuda
