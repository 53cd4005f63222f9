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
  add_activation_kernels(table);
  add_matmul_kernels(table);
  add_conv_kernels(table);
  add_pool_fast_kernels(table);  // before conv_dnnl: its MaxPool is slow on NCHW (pool_fast.cpp)
  add_conv_dnnl_kernels(table);
  add_conv_grad_kernels(table);
  add_conv_grad_dnnl_kernels(table);
  add_batchnorm_train_kernels(table);
  add_activation_grad_kernels(table);
  add_pool_train_kernels(table);
  add_pool_kernels(table);
  add_norm_kernels(table);
  add_softmax_kernels(table);
  add_rnn_kernels(table);
  add_resize_kernels(table);
  add_attention_kernels(table);
  // engine-misc families
  add_reduce_kernels(table);
  add_bitwise_kernels(table);
  add_optional_kernels(table);
  add_image_decoder_kernels(table);
  add_random_kernels(table);
  add_text_kernels(table);
  add_einsum_kernels(table);
  add_detection_kernels(table);
  add_sampling_kernels(table);
  add_signal_kernels(table);
  add_string_kernels(table);
  add_misc_ops_kernels(table);
  add_control_flow_kernels(table);
  add_sequence_kernels(table);
  add_quantize_kernels(table);
  add_loss_kernels(table);
  return table;
}

}  // namespace

std::span<const KernelDef> cpu_kernel_table() {
  static const std::vector<KernelDef> table = build_table();
  return table;
}

}  // namespace mhub::engine::cpu
