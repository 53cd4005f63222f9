#include "engine/cuda/cuda_kernels.h"

namespace mhub::engine::cuda {

namespace {

std::vector<KernelDef> build_table() {
  std::vector<KernelDef> table;
  add_activation_kernels(table);
  add_elementwise_kernels(table);
  add_matmul_kernels(table);
  return table;
}

}  // namespace

std::span<const KernelDef> cuda_kernel_table() {
  static const std::vector<KernelDef> table = build_table();
  return table;
}

}  // namespace mhub::engine::cuda
