// Fast float32 ConvGradInput / ConvGradWeight (see conv_grad.cpp for the ops and their reference
// loops) through oneDNN's convolution_backward_data / convolution_backward_weights, with the bias
// gradient fused into the weights gradient when it is wanted; the plan, its cache and its
// buffers are conv_grad_dnnl_plan.h's. bfloat16 data and float32 nodes with the bf16 compute hint
// take conv_grad_dnnl_bf16.cpp's kernels, registered before these.
#include "engine/cpu/conv_grad.h"
#include "engine/cpu/conv_grad_dnnl_plan.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/tensor_util.h"

namespace mhub::engine::cpu {

namespace {

constexpr ConvGradTypes kFloat32{dnnl::memory::data_type::f32, dnnl::memory::data_type::f32};

// dX from dY and W.
void conv_grad_input_fast(OpContext& ctx) {
  ConvGradShapes s = conv_grad_shapes(ctx, true);
  std::shared_ptr<const ConvGradPlan> plan = conv_grad_plan(ctx, s, true, kFloat32);
  ir::Tensor& dx = ctx.allocate_output(0, ctx.input(0).dtype, s.x);
  run_conv_grad_plan(ctx, *plan, mutable_bytes(dx), nullptr);
}

// dW (and dB) from X and dY.
void conv_grad_weight_fast(OpContext& ctx) {
  ConvGradShapes s = conv_grad_shapes(ctx, false);
  std::shared_ptr<const ConvGradPlan> plan = conv_grad_plan(ctx, s, false, kFloat32);
  ir::Tensor& dw = ctx.allocate_output(0, ctx.input(1).dtype, s.w);
  void* db = plan->with_bias ? mutable_bytes(ctx.allocate_output(1, ctx.input(1).dtype, {s.w[0]})) : nullptr;
  run_conv_grad_plan(ctx, *plan, mutable_bytes(dw), db);
}

bool grad_fast_supports(const ir::Node&, std::span<const ir::DataType> types) {
  return types.size() >= 2 && types[0] == ir::DataType::float32 && types[1] == ir::DataType::float32;
}

}  // namespace

void add_conv_grad_dnnl_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::ConvGradInput, KernelKind::fast, conv_grad_input_fast, grad_fast_supports});
  table.push_back({ir::OpKind::ConvGradWeight, KernelKind::fast, conv_grad_weight_fast, grad_fast_supports});
}

}  // namespace mhub::engine::cpu
