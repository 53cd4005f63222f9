#include "engine/cuda/cuda_check.h"
#include "engine/cuda/launch.cuh"
#include "engine/cuda/norm.cuh"

namespace mhub::engine::cuda {

namespace {

__global__ void batch_norm_kernel(const float* x, float* y, int64_t count, int64_t channels, int64_t spatial,
                                  const float* scale, const float* shift, const float* mean, const float* var,
                                  float epsilon) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    // The CPU reference's arithmetic: y = x * k + (shift - mean * k), k = scale / sqrt(var + eps).
    const int64_t c = (i / spatial) % channels;
    const float k = scale[c] / sqrtf(var[c] + epsilon);
    y[i] = x[i] * k + (shift[c] - mean[c] * k);
  }
}

// One block per row; each thread sums a strided slice, then a tree reduction in shared memory.
constexpr int kNormThreads = 256;

__device__ double block_sum(double value, double* partial) {
  partial[threadIdx.x] = value;
  __syncthreads();
  for (int step = kNormThreads / 2; step > 0; step /= 2) {
    if (threadIdx.x < step) partial[threadIdx.x] += partial[threadIdx.x + step];
    __syncthreads();
  }
  const double total = partial[0];
  __syncthreads();  // partial is reused by the next reduction
  return total;
}

__global__ void layer_norm_kernel(const float* x, float* y, int64_t rows, int64_t length, const float* scale,
                                  int64_t scale_count, const float* bias, int64_t bias_count, float epsilon) {
  __shared__ double partial[kNormThreads];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* row = x + r * length;
    double sum = 0;
    for (int64_t i = threadIdx.x; i < length; i += kNormThreads) sum += row[i];
    const double mean = block_sum(sum, partial) / static_cast<double>(length);
    double squares = 0;
    for (int64_t i = threadIdx.x; i < length; i += kNormThreads) {
      const double d = row[i] - mean;
      squares += d * d;
    }
    const double inverse = 1.0 / sqrt(block_sum(squares, partial) / static_cast<double>(length) + epsilon);
    for (int64_t i = threadIdx.x; i < length; i += kNormThreads) {
      const float v = static_cast<float>((row[i] - mean) * inverse) * scale[i % scale_count];
      y[r * length + i] = bias ? v + bias[i % bias_count] : v;
    }
  }
}

}  // namespace

void batch_norm_inference_f32(const float* x, float* y, int64_t batch, int64_t channels, int64_t spatial,
                              const float* scale, const float* shift, const float* mean, const float* var,
                              float epsilon, cudaStream_t stream) {
  const int64_t count = batch * channels * spatial;
  if (count <= 0) return;
  batch_norm_kernel<<<grid_for(count), kThreadsPerBlock, 0, stream>>>(x, y, count, channels, spatial, scale, shift,
                                                                       mean, var, epsilon);
  MHUB_CUDA_CHECK(cudaGetLastError());
}

void layer_norm_f32(const float* x, float* y, int64_t rows, int64_t length, const float* scale, int64_t scale_count,
                    const float* bias, int64_t bias_count, float epsilon, cudaStream_t stream) {
  if (rows <= 0 || length <= 0) return;
  const unsigned blocks = static_cast<unsigned>(rows < 65535 * 8 ? rows : 65535 * 8);
  layer_norm_kernel<<<blocks, kNormThreads, 0, stream>>>(x, y, rows, length, scale, scale_count, bias, bias_count,
                                                         epsilon);
  MHUB_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mhub::engine::cuda
