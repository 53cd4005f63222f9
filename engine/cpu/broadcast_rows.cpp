#include "engine/cpu/broadcast_rows.h"

namespace mhub::engine::cpu {

namespace {

// Contiguous strides of `dims` right-aligned to `rank` axes, 0 where the operand has size 1.
std::vector<int64_t> broadcast_strides(const std::vector<int64_t>& dims, size_t rank) {
  std::vector<int64_t> strides(rank, 0);
  int64_t step = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    const size_t axis = rank - dims.size() + i;
    strides[axis] = dims[i] == 1 ? 0 : step;
    step *= dims[i];
  }
  return strides;
}

}  // namespace

RowBroadcast plan_row_broadcast(const std::vector<int64_t>& a, const std::vector<int64_t>& b,
                                const std::vector<int64_t>& out) {
  RowBroadcast plan;
  const std::vector<int64_t> sa = broadcast_strides(a, out.size()), sb = broadcast_strides(b, out.size());
  plan.count = 1;
  for (size_t axis = 0; axis < out.size(); ++axis) {
    const int64_t d = out[axis];
    plan.count *= d;
    if (d == 1) continue;
    // Merge into the previous axis when both operands step over the pair as over one axis.
    if (!plan.dims.empty() && plan.a_strides.back() == sa[axis] * d && plan.b_strides.back() == sb[axis] * d) {
      plan.dims.back() *= d;
      plan.a_strides.back() = sa[axis];
      plan.b_strides.back() = sb[axis];
    } else {
      plan.dims.push_back(d);
      plan.a_strides.push_back(sa[axis]);
      plan.b_strides.push_back(sb[axis]);
    }
  }
  if (plan.dims.empty()) {
    plan.dims = {1};
    plan.a_strides = {0};
    plan.b_strides = {0};
  }
  return plan;
}

}  // namespace mhub::engine::cpu
