// Device code of the CUDA pooling ops (pool_ops.cpp; MaxPool / AveragePool run in cuDNN).
// Pointers are device memory, tensors NCHW-contiguous, work queued on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace mhub::engine::cuda {

// y[b, c] = mean over s of x[b, c, s] (summed in double, as the CPU reference).
void global_average_pool_f32(const float* x, float* y, int64_t batch_channels, int64_t spatial, cudaStream_t stream);

}  // namespace mhub::engine::cuda
