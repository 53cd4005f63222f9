// Shapes shared by the reference (conv_grad.cpp) and oneDNN (conv_grad_dnnl.cpp) kernels of
// the internal ops ConvGradInput(dY, W) -> dX and ConvGradWeight(X, dY) -> dW [, dB].
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/op_context.h"
#include "engine/ops/conv_geometry.h"

namespace mhub::engine::cpu {

struct ConvGradShapes {
  std::vector<int64_t> x, w, dy;  // the forward Conv's X, W and Y dims
  ops::ConvGeometry geometry;          // the forward Conv's geometry
};

// Reads the node's inputs and its input_shape (grad_input) or weight_shape attribute and checks
// that they describe one forward Conv (rank 3-5, channels and group, dY's spatial dims).
// Throws mhub::Error (format) naming the node otherwise.
ConvGradShapes conv_grad_shapes(OpContext& ctx, bool grad_input);

}  // namespace mhub::engine::cpu
