// The internal SqueezeExcitation op (engine/ir/internal_ops.def; written by
// engine/core/passes/squeeze_excitation.h): what its reference (pool.cpp) and fast
// (pool_squeeze_excitation.cpp) kernels share.
#pragma once

#include <cstdint>

#include "engine/core/op_context.h"
#include "engine/cpu/epilogue.h"
#include "engine/core/thread_pool.h"

namespace mhub::engine::cpu {

// The sizes of one SqueezeExcitation run: X [n, c, H, W] with hw = H * W pixels, W1 [r, c, 1, 1],
// W2 [c, r, 1, 1], B1 [r] and B2 [c] where present. Throws mhub::Error (format) naming the node
// when X is not 4-D or the weights and biases do not fit X.
struct SqueezeExcitationDims {
  int64_t n = 0, c = 0, hw = 0, r = 0;
  bool has_b1 = false, has_b2 = false;
  bool channels_last = false;  // X read and Y written channels-last (mhub_layout_in / mhub_layout_out)
};
SqueezeExcitationDims squeeze_excitation_dims(OpContext& ctx);

// The hidden activation (mhub_hidden_activation...) or the gate's (mhub_activation...), no bias.
Epilogue squeeze_excitation_activation(const ir::Node& node, bool hidden);

// means[b * c + k] = mean of channel k of image b of x (float32, NCHW or channels-last), summed in
// double as the reference GlobalAveragePool sums: threaded over planes / channel blocks, summed in
// vector lanes. Shared by the fast GlobalAveragePool (pool_fast.cpp) and SqueezeExcitation.
void channel_means(const float* x, int64_t n, int64_t c, int64_t hw, bool channels_last, float* means, ThreadPool& pool);

}  // namespace mhub::engine::cpu
