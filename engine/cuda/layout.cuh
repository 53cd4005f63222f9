// Data movement by a broadcast plan (float32): Transpose as a gather, and the broadcast copy of
// Gemm's C into its output. Pointers are device memory; work is queued on `stream`.
#pragma once

#include <cuda_runtime_api.h>

#include "engine/ops/broadcast.h"

namespace mhub::engine::cuda {

// dst[i] = src[offset(i)] over plan.out_count elements (plan operand 0 = src).
void broadcast_copy_f32(const ops::BroadcastPlan& plan, const float* src, float* dst, cudaStream_t stream);

}  // namespace mhub::engine::cuda
