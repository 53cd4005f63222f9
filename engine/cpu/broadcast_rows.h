// Two-operand numpy broadcasting by output rows, for the fast float32 elementwise kernels: axes
// of size 1 dropped and adjacent axes merged where both operands walk them alike, so every
// pattern (a [1, W, 1, S, S] mask against [B, W, H, S, S] scores, a [H, S, S] bias against
// [B, H, S, S], a per-channel scale) becomes rows of the innermost merged axis in which each
// operand is either contiguous (stride 1) or one repeated value (stride 0). Rows are spread over
// the session's threads; each output element is op(a element, b element) exactly as the
// reference's per-element loop computes it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/core/thread_pool.h"

namespace mhub::engine::cpu {

struct RowBroadcast {
  std::vector<int64_t> dims;                  // merged output axes, outermost first (never empty)
  std::vector<int64_t> a_strides, b_strides;  // element strides, 0 along broadcast axes
  int64_t count = 0;                          // output elements
};

// `a` and `b` must broadcast to `out` (ops::broadcast_shapes checked that).
RowBroadcast plan_row_broadcast(const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                                const std::vector<int64_t>& out);

template <typename Op>
void broadcast_rows(ThreadPool& pool, const RowBroadcast& plan, const float* a, const float* b, float* y, Op op) {
  if (plan.count == 0) return;
  const size_t axes = plan.dims.size();
  const int64_t inner = plan.dims.back();
  const int64_t sa = plan.a_strides.back(), sb = plan.b_strides.back();
  const size_t rows = static_cast<size_t>(plan.count / inner);
  pool.parallel_for(rows, chunk_for_elements(static_cast<size_t>(inner)), [&](size_t lo, size_t hi) {
    std::vector<int64_t> index(axes, 0);
    int64_t oa = 0, ob = 0;
    size_t rest = lo;
    for (size_t d = axes - 1; d-- > 0;) {
      index[d] = static_cast<int64_t>(rest % static_cast<size_t>(plan.dims[d]));
      rest /= static_cast<size_t>(plan.dims[d]);
      oa += index[d] * plan.a_strides[d];
      ob += index[d] * plan.b_strides[d];
    }
    for (size_t row = lo; row < hi; ++row) {
      float* out = y + row * static_cast<size_t>(inner);
      const float* pa = a + oa;
      const float* pb = b + ob;
      if (sa == 1 && sb == 1) {
        for (int64_t j = 0; j < inner; ++j) out[j] = op(pa[j], pb[j]);
      } else if (sa == 1) {
        const float v = *pb;
        for (int64_t j = 0; j < inner; ++j) out[j] = op(pa[j], v);
      } else if (sb == 1) {
        const float v = *pa;
        for (int64_t j = 0; j < inner; ++j) out[j] = op(v, pb[j]);
      } else {
        const float v = op(*pa, *pb);
        for (int64_t j = 0; j < inner; ++j) out[j] = v;
      }
      for (size_t d = axes - 1; d-- > 0;) {  // next row
        oa += plan.a_strides[d];
        ob += plan.b_strides[d];
        if (++index[d] < plan.dims[d]) break;
        oa -= plan.a_strides[d] * plan.dims[d];
        ob -= plan.b_strides[d] * plan.dims[d];
        index[d] = 0;
      }
    }
  });
}

}  // namespace mhub::engine::cpu
