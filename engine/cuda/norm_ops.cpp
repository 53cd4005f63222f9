// Normalizations on the CUDA backend (float32): inference BatchNormalization and
// LayerNormalization (Y only) with own kernels (norm.cu), statistics in double as the CPU.
#include "common/error.h"
#include "engine/core/op_context.h"
#include "engine/cuda/cuda_context.h"
#include "engine/cuda/cuda_kernels.h"
#include "engine/cuda/norm.cuh"
#include "engine/ops/shape.h"

namespace mhub::engine::cuda {

namespace {

bool inference_batch_norm(const ir::Node& node, std::span<const ir::DataType> types) {
  return float32_inputs(node, types) && node.attr_int("training_mode", 0) == 0 && node.outputs.size() == 1;
}

void batch_norm(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  if (x.dims.size() < 2) throw_error(ErrorCategory::format, ctx.describe() + ": X must have rank >= 2");
  const int64_t batch = x.dims[0], channels = x.dims[1], spatial = ops::dims_product(x.dims, 2, x.dims.size());
  for (size_t i = 1; i <= 4; ++i)
    if (static_cast<int64_t>(ctx.input(i).numel()) != channels)
      throw_error(ErrorCategory::unsupported, ctx.describe() + ": the CUDA backend needs one scale/B/mean/var value per channel");
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  batch_norm_inference_f32(x.data<float>(), device_floats(y), batch, channels, spatial, ctx.input(1).data<float>(),
                           ctx.input(2).data<float>(), ctx.input(3).data<float>(), ctx.input(4).data<float>(),
                           ctx.node().attr_float("epsilon", 1e-5f), current_context().stream);
}

// Mean / InvStdDev outputs are left to the CPU (supports() false when a graph reads them).
bool layer_norm_supported(const ir::Node& node, std::span<const ir::DataType> types) {
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty()) return false;
  return float32_inputs(node, types);
}

void layer_norm(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  const ir::Tensor& scale = ctx.input(1);
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  const int64_t axis = ops::normalize_axis(ctx.node(), ctx.node().attr_int("axis", -1), rank);
  const int64_t rows = ops::dims_product(x.dims, 0, static_cast<size_t>(axis));
  const int64_t length = ops::dims_product(x.dims, static_cast<size_t>(axis), x.dims.size());
  const int64_t scale_count = static_cast<int64_t>(scale.numel());
  const bool has_bias = ctx.input_count() > 2 && ctx.has_input(2);
  const int64_t bias_count = has_bias ? static_cast<int64_t>(ctx.input(2).numel()) : 1;
  if (scale_count == 0 || length % scale_count || bias_count == 0 || length % bias_count)
    throw_error(ErrorCategory::format, ctx.describe() + ": Scale / B do not broadcast to the normalized shape");
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  layer_norm_f32(x.data<float>(), device_floats(y), rows, length, scale.data<float>(), scale_count,
                 has_bias ? ctx.input(2).data<float>() : nullptr, bias_count, ctx.node().attr_float("epsilon", 1e-5f),
                 current_context().stream);
}

}  // namespace

void add_norm_kernels(std::vector<KernelDef>& table) {
  const KernelKind fast = KernelKind::fast;
  table.push_back({ir::OpKind::BatchNormalization, fast, batch_norm, inference_batch_norm});
  table.push_back({ir::OpKind::LayerNormalization, fast, layer_norm, layer_norm_supported});
}

}  // namespace mhub::engine::cuda
