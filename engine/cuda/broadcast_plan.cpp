#include "engine/cuda/broadcast_plan.h"

namespace mhub::engine::cuda {

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

}  // namespace mhub::engine::cuda
