// Elementwise ops on the CUDA backend (float32): host side of elementwise.cu. Other element
// types are left to the CPU (supports() false), which the session then runs.
#include "common/error.h"
#include "engine/core/op_context.h"
#include "engine/cpu/tensor_util.h"
#include "engine/cuda/cuda_context.h"
#include "engine/cuda/cuda_kernels.h"
#include "engine/cuda/elementwise.cuh"

namespace mhub::engine::cuda {

namespace {

bool all_float32(const ir::Node&, std::span<const ir::DataType> types) {
  if (types.empty()) return false;
  for (ir::DataType type : types)
    if (type != ir::DataType::float32) return false;
  return true;
}

// Two-input Max/Min only (the variadic forms with more inputs go to the CPU).
bool two_float32(const ir::Node& node, std::span<const ir::DataType> types) {
  return types.size() == 2 && all_float32(node, types);
}

template <UnaryOp op>
void unary(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  float alpha = op == UnaryOp::leaky_relu ? ctx.node().attr_float("alpha", 0.01f) : 0.0f;
  unary_f32(op, x.data<float>(), device_floats(y), static_cast<int64_t>(x.numel()), alpha,
            current_context().stream);
}

void gelu(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  const bool tanh_form = ctx.node().attr_string("approximate", "none") == "tanh";
  unary_f32(tanh_form ? UnaryOp::gelu_tanh : UnaryOp::gelu_erf, x.data<float>(), device_floats(y),
            static_cast<int64_t>(x.numel()), 0.0f, current_context().stream);
}

template <BinaryOp op>
void binary(OpContext& ctx) {
  const ir::Tensor& a = ctx.input(0);
  const ir::Tensor& b = ctx.input(1);
  const std::vector<int64_t> out_dims = cpu::broadcast_shapes(ctx, {a.dims, b.dims});
  BroadcastPlan plan;
  if (!make_broadcast_plan({a.dims, b.dims}, out_dims, plan))
    throw_error(ErrorCategory::unsupported, ctx.describe() + ": the CUDA backend broadcasts up to rank " +
                                                std::to_string(kMaxBroadcastRank) + "; run it with --device cpu");
  ir::Tensor& y = ctx.allocate_output(0, a.dtype, out_dims);
  binary_f32(op, plan, a.data<float>(), b.data<float>(), device_floats(y), current_context().stream);
}

}  // namespace

void add_elementwise_kernels(std::vector<KernelDef>& table) {
  using K = KernelDef;
  const KernelKind fast = KernelKind::fast;
  table.push_back(K{ir::OpKind::Sigmoid, fast, unary<UnaryOp::sigmoid>, all_float32});
  table.push_back(K{ir::OpKind::Tanh, fast, unary<UnaryOp::tanh>, all_float32});
  table.push_back(K{ir::OpKind::Exp, fast, unary<UnaryOp::exp>, all_float32});
  table.push_back(K{ir::OpKind::Log, fast, unary<UnaryOp::log>, all_float32});
  table.push_back(K{ir::OpKind::Sqrt, fast, unary<UnaryOp::sqrt>, all_float32});
  table.push_back(K{ir::OpKind::Neg, fast, unary<UnaryOp::neg>, all_float32});
  table.push_back(K{ir::OpKind::Abs, fast, unary<UnaryOp::abs>, all_float32});
  table.push_back(K{ir::OpKind::Erf, fast, unary<UnaryOp::erf>, all_float32});
  table.push_back(K{ir::OpKind::Reciprocal, fast, unary<UnaryOp::reciprocal>, all_float32});
  table.push_back(K{ir::OpKind::LeakyRelu, fast, unary<UnaryOp::leaky_relu>, all_float32});
  table.push_back(K{ir::OpKind::Gelu, fast, gelu, all_float32});
  table.push_back(K{ir::OpKind::Add, fast, binary<BinaryOp::add>, all_float32});
  table.push_back(K{ir::OpKind::Sub, fast, binary<BinaryOp::sub>, all_float32});
  table.push_back(K{ir::OpKind::Mul, fast, binary<BinaryOp::mul>, all_float32});
  table.push_back(K{ir::OpKind::Div, fast, binary<BinaryOp::div>, all_float32});
  table.push_back(K{ir::OpKind::Pow, fast, binary<BinaryOp::pow>, all_float32});
  table.push_back(K{ir::OpKind::Max, fast, binary<BinaryOp::max>, two_float32});
  table.push_back(K{ir::OpKind::Min, fast, binary<BinaryOp::min>, two_float32});
}

}  // namespace mhub::engine::cuda
