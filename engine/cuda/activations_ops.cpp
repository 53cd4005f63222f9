// Activation ops on the CUDA backend (float32): host side of activations.cu.
#include "engine/core/op_context.h"
#include "engine/cuda/activations.cuh"
#include "engine/cuda/cuda_context.h"
#include "engine/cuda/cuda_kernels.h"

namespace mhub::engine::cuda {

namespace {

void leaky_relu(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  activation_f32(ActivationOp::leaky_relu, x.data<float>(), device_floats(y), static_cast<int64_t>(x.numel()),
                 ctx.node().attr_float("alpha", 0.01f), current_context().stream);
}

void gelu(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  const bool tanh_form = ctx.node().attr_string("approximate", "none") == "tanh";
  activation_f32(tanh_form ? ActivationOp::gelu_tanh : ActivationOp::gelu_erf, x.data<float>(), device_floats(y),
                 static_cast<int64_t>(x.numel()), 0.0f, current_context().stream);
}

}  // namespace

void add_activations_kernels(std::vector<KernelDef>& table) {
  const KernelKind fast = KernelKind::fast;
  table.push_back({ir::OpKind::LeakyRelu, fast, leaky_relu, float32_inputs});
  table.push_back({ir::OpKind::Gelu, fast, gelu, float32_inputs});
}

}  // namespace mhub::engine::cuda
