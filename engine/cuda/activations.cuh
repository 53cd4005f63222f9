// Activation kernels (float32) with parameters: LeakyRelu and both Gelu forms. Launchers are
// host functions; pointers are device memory; everything is queued on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace mhub::engine::cuda {

enum class ActivationOp : int { leaky_relu, gelu_erf, gelu_tanh };

// y[i] = op(x[i]) for n elements; `alpha` is LeakyRelu's slope (ignored otherwise). NaN
// propagates as in the CPU kernels.
void activation_f32(ActivationOp op, const float* x, float* y, int64_t n, float alpha, cudaStream_t stream);

}  // namespace mhub::engine::cuda
