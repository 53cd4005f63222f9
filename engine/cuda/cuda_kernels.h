// The CUDA backend's kernel table, built from one add_<family>_kernels per op family (explicit,
// no static initializers): engine/cuda/<family>_ops.cpp (host side: shapes, attributes,
// allocation, launch) + <family>.cu (device code) + <family>.cuh (launchers), the family names of
// engine/ir/op_families.def. cuda_kernels.cpp lists them with their family, in the order
// find_kernel should try them.
#pragma once

#include <span>
#include <vector>

#include "engine/core/kernel.h"

namespace mhub::engine::cuda {

std::span<const KernelDef> cuda_kernel_table();
// The registration table it is built from (family, function).
std::span<const FamilyKernels> cuda_kernel_registrations();

// Helpers of the families' host code.
// A float32 output's bytes (device memory) for a kernel to write.
inline float* device_floats(ir::Tensor& tensor) {
  return reinterpret_cast<float*>(tensor.storage->mutable_data() + tensor.offset);
}
// The first input float32, the others float32 or absent (undefined).
inline bool float32_inputs(const ir::Node&, std::span<const ir::DataType> types) {
  if (types.empty() || types[0] != ir::DataType::float32) return false;
  for (ir::DataType type : types)
    if (type != ir::DataType::float32 && type != ir::DataType::undefined) return false;
  return true;
}

void add_activations_kernels(std::vector<KernelDef>& table);  // activations_ops.cpp
void add_binary_kernels(std::vector<KernelDef>& table);       // binary_ops.cpp
void add_conv_kernels(std::vector<KernelDef>& table);         // conv_ops.cpp
void add_elementwise_kernels(std::vector<KernelDef>& table);  // elementwise_ops.cpp
void add_layout_kernels(std::vector<KernelDef>& table);       // layout_ops.cpp
void add_matmul_kernels(std::vector<KernelDef>& table);       // matmul_ops.cpp
void add_norm_kernels(std::vector<KernelDef>& table);         // norm_ops.cpp
void add_pool_kernels(std::vector<KernelDef>& table);         // pool_ops.cpp
void add_softmax_kernels(std::vector<KernelDef>& table);      // softmax_ops.cpp

}  // namespace mhub::engine::cuda
