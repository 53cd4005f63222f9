// Slice's clamping rule on one axis, shared by the CPU kernels (slice_window), the load-time
// static facts and the Slice gradient rule, so all three read the same elements.
#pragma once

#include <algorithm>
#include <cstdint>

namespace mhub::engine::ops {

struct SliceAxis {
  int64_t begin = 0;  // index of the first element read (meaningless when count is 0)
  int64_t count = 0;  // elements read
};

// `dim`: the axis' size (>= 0); `step` != 0 (the caller rejects 0). As the ONNX spec says: negative
// start/end count from the end; a positive step clamps both into [0, dim], a negative step clamps the
// start into [0, dim - 1] and the end into [-1, dim - 1]. Callers bound dim and step so that
// end - start - step cannot overflow (dims are tensor sizes; static_facts limits both to 2^40).
inline SliceAxis slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step) {
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    return {start, end > start ? (end - start + step - 1) / step : 0};
  }
  if (dim == 0) return {0, 0};
  start = std::clamp<int64_t>(start, 0, dim - 1);
  end = std::clamp<int64_t>(end, -1, dim - 1);
  return {start, start > end ? (start - end - step - 1) / -step : 0};
}

}  // namespace mhub::engine::ops
