// numpy (multidirectional) broadcasting, once for every backend: the output shape of several
// operand shapes, and the index arithmetic as a plan in plain C++ that nvcc and the host compiler
// both build. A plan is made on the host and passed to kernels by value; the same offset
// function runs in device kernels and in the CPU unit test (tests/test_broadcast_plan.cpp) that
// checks it against the CPU backend's broadcasting, so the part most likely to be wrong is
// verified without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/ops/host_device.h"

namespace mhub::engine::ops {

// The numpy broadcast of `shapes` (right-aligned; equal dims or 1) into `out`. False, with `out`
// unspecified, when two shapes disagree on an axis.
bool broadcast_shapes(const std::vector<std::vector<int64_t>>& shapes, std::vector<int64_t>& out);

constexpr int kMaxBroadcastRank = 8;
constexpr int kMaxBroadcastOperands = 3;  // Where(cond, x, y)

// Output dims right-aligned with every operand's; strides in elements, 0 where an operand has
// size 1 (broadcast) or lacks the axis.
struct BroadcastPlan {
  int rank = 0;
  int operands = 0;
  int64_t out_dims[kMaxBroadcastRank] = {};
  int64_t strides[kMaxBroadcastOperands][kMaxBroadcastRank] = {};
  int64_t out_count = 1;
};

// The plan for `shapes` (1 to 3 operands) broadcast to `out_dims` (which the caller computed
// with the ONNX rules). Returns false when the rank exceeds kMaxBroadcastRank or an operand does
// not broadcast to out_dims (the caller then leaves the node to the CPU or reports it).
bool make_broadcast_plan(const std::vector<std::vector<int64_t>>& shapes, const std::vector<int64_t>& out_dims,
                         BroadcastPlan& plan);

// Transpose as a gather with the same arithmetic: output axis i walks input axis perm[i], so
// operand 0's stride on output axis i is the input's row-major stride of axis perm[i]. Returns
// false when perm is not a permutation of the axes or the rank exceeds kMaxBroadcastRank.
bool make_transpose_plan(const std::vector<int64_t>& in_dims, const std::vector<int64_t>& perm, BroadcastPlan& plan);

// Element offset in operand `which` of output element `index` (row-major over out_dims).
MHUB_HOST_DEVICE inline int64_t broadcast_offset(const BroadcastPlan& plan, int which, int64_t index) {
  int64_t offset = 0;
  for (int axis = plan.rank - 1; axis >= 0; --axis) {
    const int64_t dim = plan.out_dims[axis];
    const int64_t coordinate = index % dim;
    index /= dim;
    offset += coordinate * plan.strides[which][axis];
  }
  return offset;
}

}  // namespace mhub::engine::ops
