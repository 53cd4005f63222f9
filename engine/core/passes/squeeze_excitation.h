// Load-time rewrite of squeeze-excitation blocks (mobilenet_v3, PP-LCNet, regnet_y, efficientnet,
// mnasnet) into one internal SqueezeExcitation node (engine/ir/internal_ops.def), so the CPU
// computes the channel means, two small matrix-vector products and the gate in one kernel and
// scales X in one pass, instead of two oneDNN convolutions on [N, C, 1, 1] values, an elementwise
// gate and a broadcasting Mul.
//
// Runs after nn_fusion has fused the activations into the Convs. Pattern:
//   s = GlobalAveragePool(X); h = Conv(s, W1 [, B1]); g = Conv(h, W2 [, B2]); Y = Mul(X, g) or Mul(g, X)
// where both Convs are 1x1 (W1 [R, C, 1, 1] and W2 [C, R, 1, 1], float32 constants, biases
// float32 constants of R and C values), group 1, strides 1, pads 0, auto_pad NOTSET or VALID,
// no fused residual, each with any fused activation (mhub_activation: h's becomes the node's
// hidden activation, g's the gate's); s, h and g are read only by the next node of the pattern
// (so the gate used elsewhere, or a training graph whose backward reads them, is left alone).
// The node SqueezeExcitation(X, W1, B1, W2, B2) takes the Mul's name and output.
#pragma once

#include <cstddef>

#include "engine/ir/graph.h"

namespace mhub::engine::passes {

// Returns how many nodes went (four per block). Only for sessions whose nodes run on the CPU.
size_t fuse_squeeze_excitations(ir::Graph& graph);

}  // namespace mhub::engine::passes
