// The channels-last 2-D MaxPool of pool_fast.cpp, callable on raw buffers (its tests compare it
// with the reference MaxPool on every window shape, NaN and Inf included).
#pragma once

#include <cstdint>

#include "engine/core/thread_pool.h"
#include "engine/ops/conv_geometry.h"

namespace mhub::engine::cpu {

// y = MaxPool of x, both float32 channels-last: x is [n, g.in[0], g.in[1], c] and y is
// [n, g.out[0], g.out[1], c] (caller-owned, not overlapping). g is a 2-D pooling geometry
// (ops::conv_geometry). Each output value is the first value of its window in row-major order,
// replaced by every later value greater than it (so a NaN first in its window stays and later
// NaNs are skipped, as the reference compares); a window lying entirely in the padding gives
// -inf. Threaded over output rows, vectorised over the channels.
void max_pool_channels_last(const float* x, int64_t n, int64_t c, const ops::ConvGeometry& g, float* y, ThreadPool& pool);

}  // namespace mhub::engine::cpu
