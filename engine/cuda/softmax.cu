#include "engine/cuda/cuda_check.h"
#include "engine/cuda/launch.cuh"
#include "engine/cuda/softmax.cuh"

namespace mhub::engine::cuda {

namespace {

// One thread per (outer, inner) line: max, sum of exponentials, then the outputs.
__global__ void softmax_kernel(const float* x, float* y, int64_t lines, int64_t length, int64_t inner, bool log) {
  for (int64_t line = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; line < lines;
       line += int64_t(gridDim.x) * blockDim.x) {
    const int64_t base = (line / inner) * length * inner + line % inner;
    float highest = -INFINITY;
    for (int64_t j = 0; j < length; ++j) highest = fmaxf(highest, x[base + j * inner]);
    double sum = 0;
    for (int64_t j = 0; j < length; ++j) sum += exp(static_cast<double>(x[base + j * inner] - highest));
    const float log_sum = static_cast<float>(::log(sum));
    const float inverse = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j < length; ++j) {
      const float shifted = x[base + j * inner] - highest;
      y[base + j * inner] = log ? shifted - log_sum : expf(shifted) * inverse;
    }
  }
}

}  // namespace

void softmax_f32(const float* x, float* y, int64_t outer, int64_t length, int64_t inner, bool log, cudaStream_t stream) {
  const int64_t lines = outer * inner;
  if (lines <= 0 || length <= 0) return;
  softmax_kernel<<<grid_for(lines), kThreadsPerBlock, 0, stream>>>(x, y, lines, length, inner, log);
  MHUB_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mhub::engine::cuda
