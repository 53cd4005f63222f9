// Device code of the CUDA Softmax / LogSoftmax (softmax_ops.cpp). Pointers are device memory,
// work queued on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace mhub::engine::cuda {

// Softmax (or LogSoftmax when `log`) over the middle axis of x viewed as [outer, length, inner].
void softmax_f32(const float* x, float* y, int64_t outer, int64_t length, int64_t inner, bool log, cudaStream_t stream);

}  // namespace mhub::engine::cuda
