// ConvGradInput / ConvGradWeight computing in bfloat16 through oneDNN's backward primitives
// (see conv_grad.cpp for the ops and their reference loops; the plan, its cache and its buffers
// are conv_grad_dnnl_plan.h's, built with bfloat16 operands), in two cases:
//  - bfloat16 data (the backward of a graph whose values are bfloat16, autocast.h's Cast form):
//    bfloat16 in and out, float32 accumulation, each gradient rounded once as the reference does;
//  - float32 data of nodes carrying the session's bf16 compute hint (compute_precision.h; what
//    `--precision bf16` training gives the Conv gradients on the CPU): the reorders into
//    oneDNN's layouts round dY, W and X to bfloat16, and oneDNN accumulates and writes dX, dW and
//    dB in float32 (f32 diff_src / diff_weights from bf16 operands), as torch.autocast's CPU
//    backward does. No Cast node, no bfloat16 copy of a weight or activation in the graph.
// Supported only where the CPU has bfloat16 units (bf16_support.h); registered before the
// float32 kernels of conv_grad_dnnl.cpp, so hinted nodes find these first.
#include "engine/cpu/bf16_support.h"
#include "engine/cpu/conv_grad.h"
#include "engine/cpu/conv_grad_dnnl_plan.h"
#include "engine/cpu/cpu_kernels.h"
#include "engine/cpu/tensor_util.h"

namespace mhub::engine::cpu {

namespace {

// bfloat16 operands; results in the graph's type.
ConvGradTypes bf16_types(OpContext& ctx) {
  const auto bf16 = dnnl::memory::data_type::bf16, f32 = dnnl::memory::data_type::f32;
  return {bf16, ctx.input(0).dtype == ir::DataType::bfloat16 ? bf16 : f32};
}

void conv_grad_input_bf16(OpContext& ctx) {
  ConvGradShapes s = conv_grad_shapes(ctx, true);
  std::shared_ptr<const ConvGradPlan> plan = conv_grad_plan(ctx, s, true, bf16_types(ctx));
  ir::Tensor& dx = ctx.allocate_output(0, ctx.input(0).dtype, s.x);
  run_conv_grad_plan(ctx, *plan, mutable_bytes(dx), nullptr);
}

void conv_grad_weight_bf16(OpContext& ctx) {
  ConvGradShapes s = conv_grad_shapes(ctx, false);
  std::shared_ptr<const ConvGradPlan> plan = conv_grad_plan(ctx, s, false, bf16_types(ctx));
  ir::Tensor& dw = ctx.allocate_output(0, ctx.input(1).dtype, s.w);
  void* db = plan->with_bias ? mutable_bytes(ctx.allocate_output(1, ctx.input(1).dtype, {s.w[0]})) : nullptr;
  run_conv_grad_plan(ctx, *plan, mutable_bytes(dw), db);
}

// Both inputs bfloat16, or both float32 on a node with the bf16 compute hint; bf16 units needed.
bool bf16_grad_supports(const ir::Node& node, std::span<const ir::DataType> types) {
  if (types.size() < 2 || types[0] != types[1]) return false;
  if (types[0] == ir::DataType::bfloat16) return cpu_has_bf16_units();
  return types[0] == ir::DataType::float32 && bf16_compute_hinted(node);
}

}  // namespace

void add_conv_grad_dnnl_bf16_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::ConvGradInput, KernelKind::fast, conv_grad_input_bf16, bf16_grad_supports});
  table.push_back({ir::OpKind::ConvGradWeight, KernelKind::fast, conv_grad_weight_bf16, bf16_grad_supports});
}

}  // namespace mhub::engine::cpu
