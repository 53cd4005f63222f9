// Device kernels for activations. Launchers are host functions; pointers are device memory.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>

namespace mhub::engine::cuda {

// y[i] = max(x[i], 0) with NaN kept; n elements; x and y may be the same buffer.
void relu_f32(const float* x, float* y, size_t n, cudaStream_t stream);

}  // namespace mhub::engine::cuda
