#include "engine/cuda/activations.cuh"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/epilogue_math.cuh"
#include "engine/cuda/launch.cuh"

namespace mhub::engine::cuda {

namespace {

__device__ float apply_op(ActivationOp op, float x, float alpha) {
  switch (op) {
    case ActivationOp::leaky_relu: return x >= 0.0f || x != x ? x : alpha * x;
    case ActivationOp::gelu_erf: return apply_activation(x, ops::Activation::gelu, 0.0f, 0.0f);
    case ActivationOp::gelu_tanh: return apply_activation(x, ops::Activation::gelu_tanh, 0.0f, 0.0f);
  }
  return x;
}

__global__ void activation_kernel(ActivationOp op, const float* x, float* y, int64_t n, float alpha) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = apply_op(op, x[i], alpha);
}

}  // namespace

void activation_f32(ActivationOp op, const float* x, float* y, int64_t n, float alpha, cudaStream_t stream) {
  if (n <= 0) return;
  activation_kernel<<<grid_for(n), kThreadsPerBlock, 0, stream>>>(op, x, y, n, alpha);
  MHUB_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mhub::engine::cuda
