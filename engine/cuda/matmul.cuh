// Device helpers of the cuBLAS MatMul / Gemm kernels (matmul_ops.cpp): the fused epilogue the
// load-time passes record (row bias + Relu / Clip / Gelu, as engine/cpu/epilogue.h) and the
// broadcast copy of Gemm's C into the output before the GEMM accumulates onto it.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "engine/cuda/broadcast_plan.h"

namespace mhub::engine::cuda {

enum class EpilogueActivation : int { none, relu, clip, gelu, gelu_tanh };

// y[r * n + j] = act(y[r * n + j] + bias[j]) for r < rows, j < n; bias may be nullptr.
// NaN propagates (Relu and Clip keep it, as the CPU epilogue does).
void epilogue_f32(float* y, int64_t rows, int64_t n, const float* bias, EpilogueActivation act, float lo, float hi,
                  cudaStream_t stream);

// dst[i] = src[offset(i)] over plan.out_count elements (plan operand 0 = src).
void broadcast_copy_f32(const BroadcastPlan& plan, const float* src, float* dst, cudaStream_t stream);

}  // namespace mhub::engine::cuda
