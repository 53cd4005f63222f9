// Device helper of the cuBLAS MatMul / Gemm kernels (matmul_ops.cpp): the fused epilogue the
// load-time passes record (row bias + the activation of engine/ops/activation.h).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "engine/ops/activation.h"

namespace mhub::engine::cuda {

// y[r * n + j] = act(y[r * n + j] + bias[j]) for r < rows, j < n; bias may be nullptr.
// NaN propagates (Relu and Clip keep it, as the CPU epilogue does).
void epilogue_f32(float* y, int64_t rows, int64_t n, const float* bias, ops::Activation act, float lo, float hi,
                  cudaStream_t stream);

}  // namespace mhub::engine::cuda
