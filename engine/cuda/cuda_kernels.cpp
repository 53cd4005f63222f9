#include "engine/cuda/cuda_kernels.h"

#include "engine/cpu/view_kernels.h"

namespace mhub::engine::cuda {

namespace {

std::vector<KernelDef> build_table() {
  std::vector<KernelDef> table;
  cpu::add_view_kernels(table);  // dims-only ops: the CPU's kernels, data left on the device
  add_activation_kernels(table);
  add_elementwise_kernels(table);
  add_matmul_kernels(table);
  add_nn_kernels(table);
  return table;
}

}  // namespace

std::span<const KernelDef> cuda_kernel_table() {
  static const std::vector<KernelDef> table = build_table();
  return table;
}

}  // namespace mhub::engine::cuda
