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

// Position p of row `row`'s window [past | x] (carry = kernel - 1 past positions).
__device__ float causal_window(const float* x, const float* past, int64_t row, int64_t length, int64_t carry,
                               int64_t p) {
  if (p < carry) return past ? past[row * carry + p] : 0.0f;
  return x[row * length + (p - carry)];
}

__global__ void causal_conv_kernel(const float* x, const float* w, const float* bias, const float* past, float* y,
                                   int64_t count, int64_t channels, int64_t length, int64_t kernel, bool silu) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = i / length, t = i % length, c = row % channels;
    float sum = bias ? bias[c] : 0.0f;
    for (int64_t j = 0; j < kernel; ++j) sum += w[c * kernel + j] * causal_window(x, past, row, length, kernel - 1, t + j);
    y[i] = silu ? sum / (1.0f + expf(-sum)) : sum;
  }
}

__global__ void causal_state_kernel(const float* x, const float* past, float* state, int64_t count, int64_t length,
                                    int64_t carry) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count; i += int64_t(gridDim.x) * blockDim.x)
    state[i] = causal_window(x, past, i / carry, length, carry, length + i % carry);
}

}  // namespace

void channel_epilogue_f32(float* y, int64_t batch, int64_t channels, int64_t spatial, const float* bias,
                          ops::Activation act, float lo, float hi, cudaStream_t stream) {
  const int64_t count = batch * channels * spatial;
  if (count <= 0 || (!bias && act == ops::Activation::none)) return;
  channel_epilogue_kernel<<<grid_for(count), kThreadsPerBlock, 0, stream>>>(y, count, channels, spatial, bias, act, lo, hi);
  MHUB_CUDA_CHECK(cudaGetLastError());
}

void causal_conv_with_state_f32(const float* x, const float* w, const float* bias, const float* past, float* y,
                                float* state, int64_t batch, int64_t channels, int64_t length, int64_t kernel,
                                bool silu, cudaStream_t stream) {
  const int64_t outputs = batch * channels * length, carry = kernel - 1;
  if (outputs > 0) {
    causal_conv_kernel<<<grid_for(outputs), kThreadsPerBlock, 0, stream>>>(x, w, bias, past, y, outputs, channels,
                                                                            length, kernel, silu);
    MHUB_CUDA_CHECK(cudaGetLastError());
  }
  const int64_t states = batch * channels * carry;
  if (state && states > 0) {
    causal_state_kernel<<<grid_for(states), kThreadsPerBlock, 0, stream>>>(x, past, state, states, length, carry);
    MHUB_CUDA_CHECK(cudaGetLastError());
  }
}

}  // namespace mhub::engine::cuda
