// Device code of the CUDA normalizations (norm_ops.cpp). Pointers are device memory, tensors
// contiguous, work queued on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace mhub::engine::cuda {

// y = x * k + (shift[c] - mean[c] * k) with k = scale[c] / sqrt(var[c] + epsilon); x NCHW-contiguous.
void batch_norm_inference_f32(const float* x, float* y, int64_t batch, int64_t channels, int64_t spatial,
                              const float* scale, const float* shift, const float* mean, const float* var,
                              float epsilon, cudaStream_t stream);

// LayerNormalization over rows of `length` values: (x - mean) / sqrt(var + epsilon) * scale + bias
// (scale / bias repeat every scale_count / bias_count values; bias may be nullptr). Mean and
// variance are summed in double, as the CPU reference.
void layer_norm_f32(const float* x, float* y, int64_t rows, int64_t length, const float* scale, int64_t scale_count,
                    const float* bias, int64_t bias_count, float epsilon, cudaStream_t stream);

}  // namespace mhub::engine::cuda
