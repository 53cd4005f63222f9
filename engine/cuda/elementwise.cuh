// Elementwise float32 kernels: unary math. Launchers are host functions; pointers are device
// memory; everything is queued on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace mhub::engine::cuda {

// NaN propagates through every op as in the CPU kernels (Relu keeps a NaN input).
enum class UnaryOp : int { relu, sigmoid, tanh, exp, log, sqrt, neg, abs, erf, reciprocal };

// y[i] = op(x[i]) for n elements; x and y may be the same buffer.
void unary_f32(UnaryOp op, const float* x, float* y, int64_t n, cudaStream_t stream);

}  // namespace mhub::engine::cuda
