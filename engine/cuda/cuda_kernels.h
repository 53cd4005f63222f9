// The CUDA backend's kernel table, built from one add_<family>_kernels per file (explicit, no
// static initializers), in the order find_kernel should try them.
#pragma once

#include <span>
#include <vector>

#include "engine/core/kernel.h"

namespace mhub::engine::cuda {

std::span<const KernelDef> cuda_kernel_table();

void add_activation_kernels(std::vector<KernelDef>& table);  // activation_ops.cpp
void add_elementwise_kernels(std::vector<KernelDef>& table);  // elementwise_ops.cpp
void add_matmul_kernels(std::vector<KernelDef>& table);       // matmul_ops.cpp
void add_nn_kernels(std::vector<KernelDef>& table);           // nn_ops.cpp

}  // namespace mhub::engine::cuda
