// The CUDA backend's kernel table, built from one add_<family>_kernels per file (explicit, no
// static initializers), in the order find_kernel should try them.
#pragma once

#include <span>
#include <vector>

#include "engine/core/kernel.h"
#include "engine/cpu/epilogue.h"
#include "engine/cuda/matmul.cuh"

namespace mhub::engine::cuda {

std::span<const KernelDef> cuda_kernel_table();

// Helpers of the families' host code.
// A float32 output's bytes (device memory) for a kernel to write.
inline float* device_floats(ir::Tensor& tensor) {
  return reinterpret_cast<float*>(tensor.storage->mutable_data() + tensor.offset);
}
// The fused activation the load-time passes recorded, in the device epilogues' terms.
EpilogueActivation device_activation(cpu::Activation act);  // matmul_ops.cpp

void add_activation_kernels(std::vector<KernelDef>& table);  // activation_ops.cpp
void add_elementwise_kernels(std::vector<KernelDef>& table);  // elementwise_ops.cpp
void add_matmul_kernels(std::vector<KernelDef>& table);       // matmul_ops.cpp
void add_nn_kernels(std::vector<KernelDef>& table);           // nn_ops.cpp

}  // namespace mhub::engine::cuda
