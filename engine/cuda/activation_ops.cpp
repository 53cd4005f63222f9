// Activation ops on the CUDA backend: host side (shapes, output allocation, launch).
#include "engine/core/op_context.h"
#include "engine/cuda/activation.cuh"
#include "engine/cuda/cuda_context.h"
#include "engine/cuda/cuda_kernels.h"

namespace mhub::engine::cuda {

namespace {

bool float32_only(const ir::Node&, std::span<const ir::DataType> types) {
  return !types.empty() && types[0] == ir::DataType::float32;
}

void relu(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  relu_f32(x.data<float>(), reinterpret_cast<float*>(y.storage->mutable_data() + y.offset),
           x.numel(), current_context().stream);
}

}  // namespace

void add_activation_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Relu, KernelKind::fast, relu, float32_only});
}

}  // namespace mhub::engine::cuda
