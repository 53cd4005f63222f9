// Spatial geometry shared by Conv, ConvTranspose, ConvInteger, QLinearConv, DeformConv and the
// pooling ops: kernel size, strides, dilations and the begin/end pads after auto_pad, and the
// output size, per spatial axis (the axes after N and C); and CausalConvWithState's shapes. Host code, shared by the CPU and CUDA
// kernels so both backends agree on shapes.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/ir/graph.h"

namespace mhub::engine::ops {

struct ConvGeometry {
  std::vector<int64_t> in, kernel, stride, dilation, pad_begin, pad_end, out;
  size_t rank() const { return in.size(); }
};

// Conv / pooling geometry for input spatial sizes `in` and kernel sizes `kernel` (from
// kernel_shape or the weights). ceil_mode rounds the output size up (pooling).
// Throws mhub::Error (format) naming the node for inconsistent attributes.
ConvGeometry conv_geometry(const ir::Node& node, const std::vector<int64_t>& in,
                           const std::vector<int64_t>& kernel, bool ceil_mode);

// ConvTranspose geometry for input spatial sizes `in` and kernel sizes `kernel`: strides,
// dilations, output_padding, and the pads after auto_pad / output_shape (pad_begin, pad_end, so
// out = stride * (in - 1) + output_padding + (kernel - 1) * dilation + 1 - pad_begin - pad_end).
// `output_padding` is filled in too (zeros when absent). Throws mhub::Error (format) naming the
// node for attributes of the wrong length.
struct ConvTransposeGeometry : ConvGeometry {
  std::vector<int64_t> output_padding;
};
ConvTransposeGeometry conv_transpose_geometry(const ir::Node& node, const std::vector<int64_t>& in,
                                              const std::vector<int64_t>& kernel);

// CausalConvWithState (opset 27): input [batch, channels, length], weight [channels, 1, kernel],
// optional bias [channels] and past_state [batch, channels, kernel - 1], and the attribute
// activation ("none", "silu" or its alias "swish"). Output 0 has the input's shape, output 1
// (present_state) is [batch, channels, carry]. Throws mhub::Error (format) naming the node for
// other ranks, shapes or activations.
struct CausalConvShape {
  int64_t batch = 0, channels = 0, length = 0, kernel = 1;
  int64_t carry = 0;  // kernel - 1: the positions a state holds
  bool silu = false;
};
CausalConvShape causal_conv_shape(const ir::Node& node, const std::vector<int64_t>& input,
                                  const std::vector<int64_t>& weight, const std::vector<int64_t>* bias,
                                  const std::vector<int64_t>* past_state);

}  // namespace mhub::engine::ops
