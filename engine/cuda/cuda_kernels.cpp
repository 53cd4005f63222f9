#include "engine/cuda/cuda_kernels.h"

#include <array>

#include "engine/core/view_kernels.h"

namespace mhub::engine::cuda {

namespace {

using F = ir::OpFamily;

constexpr std::array kRegistrations = {
    FamilyKernels{F::shape, add_view_kernels},  // dims-only ops (core/view_kernels.h): data left on the device
    FamilyKernels{F::elementwise, add_elementwise_kernels},
    FamilyKernels{F::activations, add_activations_kernels},
    FamilyKernels{F::binary, add_binary_kernels},
    FamilyKernels{F::matmul, add_matmul_kernels},
    FamilyKernels{F::conv, add_conv_kernels},
    FamilyKernels{F::pool, add_pool_kernels},
    FamilyKernels{F::norm, add_norm_kernels},
    FamilyKernels{F::softmax, add_softmax_kernels},
    FamilyKernels{F::layout, add_layout_kernels},
};

}  // namespace

std::span<const FamilyKernels> cuda_kernel_registrations() { return kRegistrations; }

std::span<const KernelDef> cuda_kernel_table() {
  static const std::vector<KernelDef> table = build_kernel_table(kRegistrations);
  return table;
}

}  // namespace mhub::engine::cuda
