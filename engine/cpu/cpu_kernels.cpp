#include "engine/cpu/cpu_kernels.h"

namespace mhub::engine::cpu {

namespace {

std::vector<KernelDef> build_table() {
  std::vector<KernelDef> table;
  add_elementwise_kernels(table);
  add_binary_kernels(table);
  add_cast_kernels(table);
  add_shape_kernels(table);
  add_layout_kernels(table);
  add_indexing_kernels(table);
  add_ordering_kernels(table);
  return table;
}

}  // namespace

std::span<const KernelDef> cpu_kernel_table() {
  static const std::vector<KernelDef> table = build_table();
  return table;
}

}  // namespace mhub::engine::cpu
