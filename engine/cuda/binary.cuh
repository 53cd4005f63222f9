// Broadcasting binary float32 arithmetic. Launchers are host functions; pointers are device
// memory; everything is queued on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "engine/ops/broadcast.h"

namespace mhub::engine::cuda {

// NaN propagates through every op as in the CPU kernels (Max/Min return the NaN operand).
enum class BinaryOp : int { add, sub, mul, div, pow, max, min };

// y[i] = op(a[offset_a(i)], b[offset_b(i)]) over plan.out_count elements (plan operands 0 = a, 1 = b).
void binary_f32(BinaryOp op, const ops::BroadcastPlan& plan, const float* a, const float* b, float* y,
                cudaStream_t stream);

}  // namespace mhub::engine::cuda
