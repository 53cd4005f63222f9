// Elementwise float32 kernels: unary math and broadcasting binary arithmetic. Launchers are host
// functions; pointers are device memory; everything is queued on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "engine/cuda/broadcast_plan.h"

namespace mhub::engine::cuda {

// NaN propagates through every op as in the CPU kernels (Max/Min return the NaN operand).
enum class UnaryOp : int { sigmoid, tanh, exp, log, sqrt, neg, abs, erf, reciprocal, leaky_relu, gelu_erf, gelu_tanh };
enum class BinaryOp : int { add, sub, mul, div, pow, max, min };

// y[i] = op(x[i]) for n elements; `alpha` is LeakyRelu's slope (ignored otherwise).
void unary_f32(UnaryOp op, const float* x, float* y, int64_t n, float alpha, cudaStream_t stream);

// y[i] = op(a[offset_a(i)], b[offset_b(i)]) over plan.out_count elements (plan operands 0 = a, 1 = b).
void binary_f32(BinaryOp op, const BroadcastPlan& plan, const float* a, const float* b, float* y, cudaStream_t stream);

}  // namespace mhub::engine::cuda
