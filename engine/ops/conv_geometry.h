// Spatial geometry shared by Conv, ConvTranspose, ConvInteger, QLinearConv, DeformConv and the
// pooling ops: kernel size, strides, dilations and the begin/end pads after auto_pad, and the
// output size, per spatial axis (the axes after N and C). Host code, shared by the CPU and CUDA
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

}  // namespace mhub::engine::ops
