#include "engine/cuda/cuda_check.h"
#include "engine/cuda/epilogue_math.cuh"
#include "engine/cuda/launch.cuh"
#include "engine/cuda/matmul.cuh"

namespace mhub::engine::cuda {

namespace {

__global__ void epilogue_kernel(float* y, int64_t count, int64_t n, const float* bias, ops::Activation act,
                                float lo, float hi) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    float v = y[i];
    if (bias) v += bias[i % n];
    y[i] = apply_activation(v, act, lo, hi);
  }
}

}  // namespace

void epilogue_f32(float* y, int64_t rows, int64_t n, const float* bias, ops::Activation act, float lo, float hi,
                  cudaStream_t stream) {
  const int64_t count = rows * n;
  if (count <= 0 || (!bias && act == ops::Activation::none)) return;
  epilogue_kernel<<<grid_for(count), kThreadsPerBlock, 0, stream>>>(y, count, n, bias, act, lo, hi);
  MHUB_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mhub::engine::cuda
