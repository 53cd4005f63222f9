#include "engine/ops/broadcast.h"

#include <algorithm>

namespace mhub::engine::ops {

bool broadcast_shapes(const std::vector<std::vector<int64_t>>& shapes, std::vector<int64_t>& out) {
  size_t rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, s.size());
  out.assign(rank, 1);
  for (const auto& s : shapes)
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t& o = out[rank - s.size() + i];
      const int64_t d = s[i];
      if (d == o || d == 1) continue;
      if (o != 1) return false;
      o = d;
    }
  return true;
}

bool make_broadcast_plan(const std::vector<std::vector<int64_t>>& shapes, const std::vector<int64_t>& out_dims,
                         BroadcastPlan& plan) {
  plan = BroadcastPlan{};
  if (shapes.empty() || shapes.size() > static_cast<size_t>(kMaxBroadcastOperands)) return false;
  if (out_dims.size() > static_cast<size_t>(kMaxBroadcastRank)) return false;
  // A scalar output still needs one axis so the offset loop runs once.
  plan.rank = out_dims.empty() ? 1 : static_cast<int>(out_dims.size());
  plan.operands = static_cast<int>(shapes.size());
  for (int axis = 0; axis < plan.rank; ++axis) plan.out_dims[axis] = out_dims.empty() ? 1 : out_dims[axis];
  plan.out_count = 1;
  for (int axis = 0; axis < plan.rank; ++axis) plan.out_count *= plan.out_dims[axis];
  for (size_t o = 0; o < shapes.size(); ++o) {
    const std::vector<int64_t>& dims = shapes[o];
    if (dims.size() > static_cast<size_t>(plan.rank)) return false;
    const int shift = plan.rank - static_cast<int>(dims.size());
    int64_t stride = 1;
    for (int axis = plan.rank - 1; axis >= 0; --axis) {
      if (axis < shift) {
        plan.strides[o][axis] = 0;
        continue;
      }
      const int64_t dim = dims[axis - shift];
      if (dim != plan.out_dims[axis] && dim != 1) return false;
      plan.strides[o][axis] = dim == 1 ? 0 : stride;
      stride *= dim;
    }
  }
  return true;
}

bool make_transpose_plan(const std::vector<int64_t>& in_dims, const std::vector<int64_t>& perm, BroadcastPlan& plan) {
  plan = BroadcastPlan{};
  const size_t rank = in_dims.size();
  if (perm.size() != rank || rank > static_cast<size_t>(kMaxBroadcastRank)) return false;
  std::vector<bool> seen(rank, false);
  for (int64_t axis : perm) {
    if (axis < 0 || axis >= static_cast<int64_t>(rank) || seen[static_cast<size_t>(axis)]) return false;
    seen[static_cast<size_t>(axis)] = true;
  }
  std::vector<int64_t> in_strides(rank, 1);
  for (size_t axis = rank; axis-- > 1;) in_strides[axis - 1] = in_strides[axis] * in_dims[axis];
  plan.operands = 1;
  plan.rank = rank == 0 ? 1 : static_cast<int>(rank);
  plan.out_dims[0] = 1;
  plan.out_count = 1;
  for (size_t axis = 0; axis < rank; ++axis) {
    plan.out_dims[axis] = in_dims[static_cast<size_t>(perm[axis])];
    plan.strides[0][axis] = in_strides[static_cast<size_t>(perm[axis])];
    plan.out_count *= plan.out_dims[axis];
  }
  return true;
}

}  // namespace mhub::engine::ops
