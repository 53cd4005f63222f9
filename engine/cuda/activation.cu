#include "engine/cuda/activation.cuh"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/launch.cuh"

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
  relu_kernel<<<grid_for(static_cast<int64_t>(n)), kThreadsPerBlock, 0, stream>>>(x, y, n);
  MHUB_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mhub::engine::cuda
