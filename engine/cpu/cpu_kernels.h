// The CPU backend's kernel table. Each op family lives in its own file and appends its rows
// through one function declared here; cpu_kernels.cpp calls them all, in this order.
#pragma once

#include <span>
#include <vector>

#include "engine/core/kernel.h"

namespace mhub::engine::cpu {

// The whole table, built once on first use.
std::span<const KernelDef> cpu_kernel_table();

// One per family file (engine/cpu/<family>.cpp). Add a declaration here and a call in
// cpu_kernels.cpp when adding a family.
void add_elementwise_kernels(std::vector<KernelDef>& table);
void add_binary_kernels(std::vector<KernelDef>& table);
void add_cast_kernels(std::vector<KernelDef>& table);
void add_shape_kernels(std::vector<KernelDef>& table);
void add_layout_kernels(std::vector<KernelDef>& table);
void add_indexing_kernels(std::vector<KernelDef>& table);
void add_ordering_kernels(std::vector<KernelDef>& table);
// engine-nn families
void add_activation_kernels(std::vector<KernelDef>& table);
void add_matmul_kernels(std::vector<KernelDef>& table);
void add_conv_kernels(std::vector<KernelDef>& table);
void add_conv_dnnl_kernels(std::vector<KernelDef>& table);
void add_pool_fast_kernels(std::vector<KernelDef>& table);
// mhub-internal ops (engine/ir/internal_ops.def)
void add_conv_grad_kernels(std::vector<KernelDef>& table);
void add_conv_grad_dnnl_kernels(std::vector<KernelDef>& table);
void add_batchnorm_train_kernels(std::vector<KernelDef>& table);
void add_activation_grad_kernels(std::vector<KernelDef>& table);
void add_pool_train_kernels(std::vector<KernelDef>& table);  // also MaxPool with indices, fast
void add_pool_kernels(std::vector<KernelDef>& table);
void add_norm_kernels(std::vector<KernelDef>& table);
void add_softmax_kernels(std::vector<KernelDef>& table);
void add_rnn_kernels(std::vector<KernelDef>& table);
void add_resize_kernels(std::vector<KernelDef>& table);
void add_attention_kernels(std::vector<KernelDef>& table);
// engine-misc families
void add_reduce_kernels(std::vector<KernelDef>& table);
void add_bitwise_kernels(std::vector<KernelDef>& table);
void add_optional_kernels(std::vector<KernelDef>& table);
void add_image_decoder_kernels(std::vector<KernelDef>& table);
void add_random_kernels(std::vector<KernelDef>& table);
void add_text_kernels(std::vector<KernelDef>& table);
void add_einsum_kernels(std::vector<KernelDef>& table);
void add_detection_kernels(std::vector<KernelDef>& table);
void add_sampling_kernels(std::vector<KernelDef>& table);
void add_signal_kernels(std::vector<KernelDef>& table);
void add_string_kernels(std::vector<KernelDef>& table);
void add_misc_ops_kernels(std::vector<KernelDef>& table);
void add_control_flow_kernels(std::vector<KernelDef>& table);
void add_sequence_kernels(std::vector<KernelDef>& table);
void add_quantize_kernels(std::vector<KernelDef>& table);
void add_loss_kernels(std::vector<KernelDef>& table);

}  // namespace mhub::engine::cpu
