// Elementwise (unary math) ops on the CUDA backend (float32): host side of elementwise.cu. Other
// element types are left to the CPU (supports() false), which the session then runs.
#include "engine/core/op_context.h"
#include "engine/cuda/cuda_context.h"
#include "engine/cuda/cuda_kernels.h"
#include "engine/cuda/elementwise.cuh"

namespace mhub::engine::cuda {

namespace {

template <UnaryOp op>
void unary(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  unary_f32(op, x.data<float>(), device_floats(y), static_cast<int64_t>(x.numel()), current_context().stream);
}

}  // namespace

void add_elementwise_kernels(std::vector<KernelDef>& table) {
  using K = KernelDef;
  const KernelKind fast = KernelKind::fast;
  table.push_back(K{ir::OpKind::Relu, fast, unary<UnaryOp::relu>, float32_inputs});
  table.push_back(K{ir::OpKind::Sigmoid, fast, unary<UnaryOp::sigmoid>, float32_inputs});
  table.push_back(K{ir::OpKind::Tanh, fast, unary<UnaryOp::tanh>, float32_inputs});
  table.push_back(K{ir::OpKind::Exp, fast, unary<UnaryOp::exp>, float32_inputs});
  table.push_back(K{ir::OpKind::Log, fast, unary<UnaryOp::log>, float32_inputs});
  table.push_back(K{ir::OpKind::Sqrt, fast, unary<UnaryOp::sqrt>, float32_inputs});
  table.push_back(K{ir::OpKind::Neg, fast, unary<UnaryOp::neg>, float32_inputs});
  table.push_back(K{ir::OpKind::Abs, fast, unary<UnaryOp::abs>, float32_inputs});
  table.push_back(K{ir::OpKind::Erf, fast, unary<UnaryOp::erf>, float32_inputs});
  table.push_back(K{ir::OpKind::Reciprocal, fast, unary<UnaryOp::reciprocal>, float32_inputs});
}

}  // namespace mhub::engine::cuda
