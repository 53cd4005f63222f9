#include "engine/cuda/binary.cuh"
#include "engine/cuda/cuda_check.h"
#include "engine/cuda/launch.cuh"

namespace mhub::engine::cuda {

namespace {

__device__ float apply_binary(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
    case BinaryOp::pow: return powf(a, b);
    case BinaryOp::max: return a != a ? a : (b != b ? b : (a > b ? a : b));
    case BinaryOp::min: return a != a ? a : (b != b ? b : (a < b ? a : b));
  }
  return a;
}

// The plan travels by value (a kernel parameter, ~450 bytes, well under the 4 KB limit).
__global__ void binary_kernel(BinaryOp op, ops::BroadcastPlan plan, const float* a, const float* b, float* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < plan.out_count; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = apply_binary(op, a[ops::broadcast_offset(plan, 0, i)], b[ops::broadcast_offset(plan, 1, i)]);
}

// Both operands of the output's shape: no index arithmetic.
__global__ void binary_same_shape_kernel(BinaryOp op, const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = apply_binary(op, a[i], b[i]);
}

// Whether both operands are laid out exactly as the output (size-1 axes do not matter).
bool same_shape(const ops::BroadcastPlan& plan) {
  int64_t expected = 1;
  for (int axis = plan.rank - 1; axis >= 0; --axis) {
    if (plan.out_dims[axis] == 1) continue;
    if (plan.strides[0][axis] != expected || plan.strides[1][axis] != expected) return false;
    expected *= plan.out_dims[axis];
  }
  return true;
}

}  // namespace

void binary_f32(BinaryOp op, const ops::BroadcastPlan& plan, const float* a, const float* b, float* y,
                cudaStream_t stream) {
  if (plan.out_count <= 0) return;
  if (same_shape(plan))
    binary_same_shape_kernel<<<grid_for(plan.out_count), kThreadsPerBlock, 0, stream>>>(op, a, b, y, plan.out_count);
  else
    binary_kernel<<<grid_for(plan.out_count), kThreadsPerBlock, 0, stream>>>(op, plan, a, b, y);
  MHUB_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mhub::engine::cuda
