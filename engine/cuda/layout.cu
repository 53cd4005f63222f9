#include "engine/cuda/cuda_check.h"
#include "engine/cuda/launch.cuh"
#include "engine/cuda/layout.cuh"

namespace mhub::engine::cuda {

namespace {

__global__ void broadcast_copy_kernel(ops::BroadcastPlan plan, const float* src, float* dst) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < plan.out_count; i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = src[ops::broadcast_offset(plan, 0, i)];
}

}  // namespace

void broadcast_copy_f32(const ops::BroadcastPlan& plan, const float* src, float* dst, cudaStream_t stream) {
  if (plan.out_count <= 0) return;
  broadcast_copy_kernel<<<grid_for(plan.out_count), kThreadsPerBlock, 0, stream>>>(plan, src, dst);
  MHUB_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mhub::engine::cuda
