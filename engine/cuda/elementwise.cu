#include "engine/cuda/cuda_check.h"
#include "engine/cuda/elementwise.cuh"
#include "engine/cuda/launch.cuh"

namespace mhub::engine::cuda {

namespace {

__device__ float apply_unary(UnaryOp op, float x) {
  switch (op) {
    case UnaryOp::relu: return x > 0.0f ? x : (x != x ? x : 0.0f);
    case UnaryOp::sigmoid: return 1.0f / (1.0f + expf(-x));
    case UnaryOp::tanh: return tanhf(x);
    case UnaryOp::exp: return expf(x);
    case UnaryOp::log: return logf(x);
    case UnaryOp::sqrt: return sqrtf(x);
    case UnaryOp::neg: return -x;
    case UnaryOp::abs: return fabsf(x);
    case UnaryOp::erf: return erff(x);
    case UnaryOp::reciprocal: return 1.0f / x;
  }
  return x;
}

// Grid-stride loop: any grid size covers any n.
__global__ void unary_kernel(UnaryOp op, const float* x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = apply_unary(op, x[i]);
}

}  // namespace

void unary_f32(UnaryOp op, const float* x, float* y, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  unary_kernel<<<grid_for(n), kThreadsPerBlock, 0, stream>>>(op, x, y, n);
  MHUB_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mhub::engine::cuda
