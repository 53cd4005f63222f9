// Device code of the CUDA Conv (conv_ops.cpp): per-channel bias + the fused activation after a
// cuDNN convolution; CausalConvWithState as a direct loop. Pointers are device memory, tensors NCHW-contiguous ([batch, channels,
// spatial...] flattened), work queued on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "engine/ops/activation.h"

namespace mhub::engine::cuda {

// y[b, c, s] = act(y[b, c, s] + bias[c]); bias may be nullptr.
void channel_epilogue_f32(float* y, int64_t batch, int64_t channels, int64_t spatial, const float* bias,
                          ops::Activation act, float lo, float hi, cudaStream_t stream);

// CausalConvWithState: over the window [past | x] of each (batch, channel) row (past nullptr:
// zeros), y[b, c, t] = act(bias[c] + sum_j w[c, j] * window[t + j]) with act SiLU or none, and,
// when state is not nullptr, state[b, c, i] = window[length + i] for i < kernel - 1. bias may
// be nullptr.
void causal_conv_with_state_f32(const float* x, const float* w, const float* bias, const float* past, float* y,
                                float* state, int64_t batch, int64_t channels, int64_t length, int64_t kernel,
                                bool silu, cudaStream_t stream);

}  // namespace mhub::engine::cuda
