#include "engine/cpu/cpu_kernels.h"

#include <array>

namespace mhub::engine::cpu {

namespace {

using F = ir::OpFamily;

// Order matters only between rows of one op (find_kernel takes the first supporting fast kernel).
constexpr std::array kRegistrations = {
    FamilyKernels{F::elementwise, add_elementwise_kernels},
    FamilyKernels{F::binary, add_binary_channels_last_kernels},  // marked nodes only, before binary's fast rows
    FamilyKernels{F::binary, add_binary_kernels},
    FamilyKernels{F::cast, add_cast_kernels},
    FamilyKernels{F::shape, add_shape_kernels},
    FamilyKernels{F::layout, add_layout_kernels},
    FamilyKernels{F::layout, add_layout_channels_last_kernels},  // marked nodes only: before layout_fast's Slice
    FamilyKernels{F::layout, add_layout_fast_kernels},           // Transpose, Pad, Slice
    FamilyKernels{F::layout, add_layout_shuffle_kernels},        // the internal ChannelShuffle
    FamilyKernels{F::indexing, add_indexing_kernels},
    FamilyKernels{F::ordering, add_ordering_kernels},
    FamilyKernels{F::activations, add_activations_kernels},
    // bfloat16 data, or float32 under the bf16 compute hint, where the CPU has bf16 units: before
    // the float32 kernels so that hinted nodes find it first.
    FamilyKernels{F::matmul, add_matmul_dnnl_bf16_kernels},
    FamilyKernels{F::matmul, add_matmul_kernels},
    FamilyKernels{F::conv, add_conv_kernels},
    FamilyKernels{F::pool, add_pool_fast_kernels},  // before pool_dnnl: oneDNN's MaxPool is slow on NCHW
    FamilyKernels{F::pool, add_pool_squeeze_excitation_kernels},  // the internal SqueezeExcitation
    FamilyKernels{F::conv, add_conv_dnnl_kernels},
    FamilyKernels{F::conv, add_conv_dnnl_bf16_kernels},  // bfloat16 only, where the CPU has bf16 units
    FamilyKernels{F::pool, add_pool_dnnl_kernels},
    FamilyKernels{F::conv, add_conv_grad_kernels},
    // bfloat16 data, or float32 under the bf16 compute hint: before the float32 gradient kernels.
    FamilyKernels{F::conv, add_conv_grad_dnnl_bf16_kernels},
    FamilyKernels{F::conv, add_conv_grad_dnnl_kernels},
    FamilyKernels{F::norm, add_norm_train_kernels},
    FamilyKernels{F::elementwise, add_elementwise_grad_kernels},
    FamilyKernels{F::pool, add_pool_train_kernels},
    FamilyKernels{F::pool, add_pool_kernels},
    FamilyKernels{F::norm, add_norm_kernels},
    FamilyKernels{F::norm, add_norm_concat_kernels},  // the internal ConcatBatchNorm
    FamilyKernels{F::softmax, add_softmax_kernels},
    FamilyKernels{F::softmax, add_softmax_dnnl_kernels},
    FamilyKernels{F::rnn, add_rnn_kernels},
    FamilyKernels{F::rnn, add_rnn_dnnl_kernels},
    FamilyKernels{F::resize, add_resize_kernels},
    FamilyKernels{F::attention, add_attention_kernels},
    FamilyKernels{F::attention, add_attention_fused_kernels},
    FamilyKernels{F::random, add_random_dropout_kernels},
    FamilyKernels{F::reduce, add_reduce_kernels},
    FamilyKernels{F::bitwise, add_bitwise_kernels},
    FamilyKernels{F::optional, add_optional_kernels},
    FamilyKernels{F::image_decoder, add_image_decoder_kernels},
    FamilyKernels{F::random, add_random_kernels},
    FamilyKernels{F::text, add_text_kernels},
    FamilyKernels{F::einsum, add_einsum_kernels},
    FamilyKernels{F::detection, add_detection_kernels},
    FamilyKernels{F::sampling, add_sampling_kernels},
    FamilyKernels{F::signal, add_signal_kernels},
    FamilyKernels{F::string, add_string_kernels},
    FamilyKernels{F::misc, add_misc_kernels},
    FamilyKernels{F::control_flow, add_control_flow_kernels},
    FamilyKernels{F::sequence, add_sequence_kernels},
    FamilyKernels{F::quantize, add_quantize_kernels},
    FamilyKernels{F::loss, add_loss_kernels},
    FamilyKernels{F::collective, add_collective_kernels},
};

}  // namespace

std::span<const FamilyKernels> cpu_kernel_registrations() { return kRegistrations; }

std::span<const KernelDef> cpu_kernel_table() {
  static const std::vector<KernelDef> table = build_kernel_table(kRegistrations);
  return table;
}

}  // namespace mhub::engine::cpu
