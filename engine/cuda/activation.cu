#include "engine/cuda/activation.cuh"
#include "engine/cuda/cuda_check.h"

namespace mhub::engine::cuda {

namespace {

__global__ void relu_kernel(const float* x, float* y, size_t n) {
  // Grid-stride loop: any grid size covers any n.
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    float v = x[i];
    y[i] = v > 0.0f ? v : (v != v ? v : 0.0f);
  }
}

}  // namespace

void relu_f32(const float* x, float* y, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  constexpr int kThreads = 256;
  size_t blocks = (n + kThreads - 1) / kThreads;
  if (blocks > 65535u * 16u) blocks = 65535u * 16u;
  relu_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(x, y, n);
  MHUB_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mhub::engine::cuda
