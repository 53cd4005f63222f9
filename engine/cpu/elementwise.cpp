// Elementwise activations. Reference kernels: plain loops over contiguous float data.
#include <cmath>

#include "common/error.h"
#include "engine/cpu/cpu_kernels.h"

namespace mhub::engine::cpu {

namespace {

bool float_only(const ir::Node&, std::span<const ir::DataType> types) {
  return !types.empty() && types[0] == ir::DataType::float32;
}

void relu_reference(OpContext& ctx) {
  const ir::Tensor& x = ctx.input(0);
  ir::Tensor& y = ctx.allocate_output(0, x.dtype, x.dims);
  const float* in = x.data<float>();
  float* out = reinterpret_cast<float*>(y.storage->mutable_data() + y.offset);
  size_t count = x.numel();
  ctx.threads().parallel_for(count, 1 << 14, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) out[i] = in[i] > 0.0f ? in[i] : (std::isnan(in[i]) ? in[i] : 0.0f);
  });
}

}  // namespace

void add_elementwise_kernels(std::vector<KernelDef>& table) {
  table.push_back({ir::OpKind::Relu, KernelKind::reference, relu_reference, float_only});
}

}  // namespace mhub::engine::cpu
