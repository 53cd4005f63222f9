// Device code of the CUDA Conv (conv_ops.cpp): per-channel bias + the fused activation after a
// cuDNN convolution. Pointers are device memory, tensors NCHW-contiguous ([batch, channels,
// spatial...] flattened), work queued on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "engine/ops/activation.h"

namespace mhub::engine::cuda {

// y[b, c, s] = act(y[b, c, s] + bias[c]); bias may be nullptr.
void channel_epilogue_f32(float* y, int64_t batch, int64_t channels, int64_t spatial, const float* bias,
                          ops::Activation act, float lo, float hi, cudaStream_t stream);

}  // namespace mhub::engine::cuda
