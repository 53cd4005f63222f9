// Device code of the CUDA neural-net ops (nn_ops.cpp): per-channel bias + activation after a
// cuDNN convolution, inference BatchNormalization, GlobalAveragePool and Softmax. Pointers are
// device memory, tensors NCHW-contiguous ([batch, channels, spatial...] flattened), work queued
// on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "engine/cuda/matmul.cuh"

namespace mhub::engine::cuda {

// y[b, c, s] = act(y[b, c, s] + bias[c]); bias may be nullptr.
void channel_epilogue_f32(float* y, int64_t batch, int64_t channels, int64_t spatial, const float* bias,
                          EpilogueActivation act, float lo, float hi, cudaStream_t stream);

// y = x * k + (shift[c] - mean[c] * k) with k = scale[c] / sqrt(var[c] + epsilon).
void batch_norm_inference_f32(const float* x, float* y, int64_t batch, int64_t channels, int64_t spatial,
                              const float* scale, const float* shift, const float* mean, const float* var,
                              float epsilon, cudaStream_t stream);

// y[b, c] = mean over s of x[b, c, s] (summed in double, as the CPU reference).
void global_average_pool_f32(const float* x, float* y, int64_t batch_channels, int64_t spatial, cudaStream_t stream);

// LayerNormalization over rows of `length` values: (x - mean) / sqrt(var + epsilon) * scale + bias
// (scale / bias repeat every scale_count / bias_count values; bias may be nullptr). Mean and
// variance are summed in double, as the CPU reference.
void layer_norm_f32(const float* x, float* y, int64_t rows, int64_t length, const float* scale, int64_t scale_count,
                    const float* bias, int64_t bias_count, float epsilon, cudaStream_t stream);

// Softmax (or LogSoftmax when `log`) over the middle axis of x viewed as [outer, length, inner].
void softmax_f32(const float* x, float* y, int64_t outer, int64_t length, int64_t inner, bool log, cudaStream_t stream);

}  // namespace mhub::engine::cuda
