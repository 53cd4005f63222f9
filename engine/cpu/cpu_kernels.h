// The CPU backend's kernel table. Each op family (engine/ir/op_families.def) lives in the files
// engine/cpu/<family>.cpp and <family>_<variant>.cpp, each appending its rows through one
// function declared here; cpu_kernels.cpp lists them with their family, in order.
#pragma once

#include <span>
#include <vector>

#include "engine/core/kernel.h"

namespace mhub::engine::cpu {

// The whole table, built once on first use.
std::span<const KernelDef> cpu_kernel_table();
// The registration table it is built from (family, function), for the family tests.
std::span<const FamilyKernels> cpu_kernel_registrations();

// add_<file>_kernels, defined in engine/cpu/<file>.cpp. Add a declaration here and a row in
// cpu_kernels.cpp when adding a file.
void add_activations_kernels(std::vector<KernelDef>& table);
void add_attention_kernels(std::vector<KernelDef>& table);
void add_attention_fused_kernels(std::vector<KernelDef>& table);
void add_binary_kernels(std::vector<KernelDef>& table);
void add_binary_channels_last_kernels(std::vector<KernelDef>& table);
void add_bitwise_kernels(std::vector<KernelDef>& table);
void add_cast_kernels(std::vector<KernelDef>& table);
void add_collective_kernels(std::vector<KernelDef>& table);
void add_control_flow_kernels(std::vector<KernelDef>& table);
void add_conv_kernels(std::vector<KernelDef>& table);
void add_conv_dnnl_kernels(std::vector<KernelDef>& table);
void add_conv_dnnl_bf16_kernels(std::vector<KernelDef>& table);
void add_conv_grad_kernels(std::vector<KernelDef>& table);
void add_conv_grad_dnnl_kernels(std::vector<KernelDef>& table);
void add_conv_grad_dnnl_bf16_kernels(std::vector<KernelDef>& table);
void add_detection_kernels(std::vector<KernelDef>& table);
void add_einsum_kernels(std::vector<KernelDef>& table);
void add_elementwise_kernels(std::vector<KernelDef>& table);
void add_elementwise_grad_kernels(std::vector<KernelDef>& table);
void add_image_decoder_kernels(std::vector<KernelDef>& table);
void add_indexing_kernels(std::vector<KernelDef>& table);
void add_layout_kernels(std::vector<KernelDef>& table);
void add_layout_fast_kernels(std::vector<KernelDef>& table);
void add_layout_channels_last_kernels(std::vector<KernelDef>& table);
void add_layout_shuffle_kernels(std::vector<KernelDef>& table);
void add_loss_kernels(std::vector<KernelDef>& table);
void add_matmul_kernels(std::vector<KernelDef>& table);
void add_matmul_dnnl_bf16_kernels(std::vector<KernelDef>& table);
void add_misc_kernels(std::vector<KernelDef>& table);
void add_norm_kernels(std::vector<KernelDef>& table);
void add_norm_concat_kernels(std::vector<KernelDef>& table);
void add_norm_train_kernels(std::vector<KernelDef>& table);
void add_optional_kernels(std::vector<KernelDef>& table);
void add_ordering_kernels(std::vector<KernelDef>& table);
void add_pool_kernels(std::vector<KernelDef>& table);
void add_pool_dnnl_kernels(std::vector<KernelDef>& table);
void add_pool_fast_kernels(std::vector<KernelDef>& table);
void add_pool_squeeze_excitation_kernels(std::vector<KernelDef>& table);
void add_pool_train_kernels(std::vector<KernelDef>& table);  // also MaxPool with indices, fast
void add_quantize_kernels(std::vector<KernelDef>& table);
void add_random_kernels(std::vector<KernelDef>& table);
void add_random_dropout_kernels(std::vector<KernelDef>& table);
void add_reduce_kernels(std::vector<KernelDef>& table);
void add_resize_kernels(std::vector<KernelDef>& table);
void add_rnn_kernels(std::vector<KernelDef>& table);
void add_rnn_dnnl_kernels(std::vector<KernelDef>& table);
void add_sampling_kernels(std::vector<KernelDef>& table);
void add_sequence_kernels(std::vector<KernelDef>& table);
void add_shape_kernels(std::vector<KernelDef>& table);
void add_signal_kernels(std::vector<KernelDef>& table);
void add_softmax_kernels(std::vector<KernelDef>& table);
void add_softmax_dnnl_kernels(std::vector<KernelDef>& table);
void add_string_kernels(std::vector<KernelDef>& table);
void add_text_kernels(std::vector<KernelDef>& table);

}  // namespace mhub::engine::cpu
