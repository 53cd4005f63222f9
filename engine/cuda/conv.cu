#include "engine/cuda/conv.cuh"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/epilogue_math.cuh"
#include "engine/cuda/launch.cuh"

namespace mhub::engine::cuda {

namespace {

__global__ void channel_epilogue_kernel(float* y, int64_t count, int64_t channels, int64_t spatial, const float* bias,
                                        ops::Activation act, float lo, float hi) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    float v = y[i];
    if (bias) v += bias[(i / spatial) % channels];
    y[i] = apply_activation(v, act, lo, hi);
  }
}

}  // namespace

void channel_epilogue_f32(float* y, int64_t batch, int64_t channels, int64_t spatial, const float* bias,
                          ops::Activation act, float lo, float hi, cudaStream_t stream) {
  const int64_t count = batch * channels * spatial;
  if (count <= 0 || (!bias && act == ops::Activation::none)) return;
  channel_epilogue_kernel<<<grid_for(count), kThreadsPerBlock, 0, stream>>>(y, count, channels, spatial, bias, act, lo, hi);
  MHUB_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mhub::engine::cuda
