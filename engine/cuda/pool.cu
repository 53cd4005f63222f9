#include "engine/cuda/cuda_check.h"
#include "engine/cuda/launch.cuh"
#include "engine/cuda/pool.cuh"

namespace mhub::engine::cuda {

namespace {

// One thread per (batch, channel) row: the rows are short (7x7 in ResNets) and many.
__global__ void global_average_kernel(const float* x, float* y, int64_t rows, int64_t spatial) {
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x) {
    double sum = 0;
    const float* row = x + r * spatial;
    for (int64_t s = 0; s < spatial; ++s) sum += row[s];
    y[r] = static_cast<float>(sum / static_cast<double>(spatial));
  }
}

}  // namespace

void global_average_pool_f32(const float* x, float* y, int64_t batch_channels, int64_t spatial, cudaStream_t stream) {
  if (batch_channels <= 0) return;
  global_average_kernel<<<grid_for(batch_channels), kThreadsPerBlock, 0, stream>>>(x, y, batch_channels, spatial);
  MHUB_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mhub::engine::cuda
