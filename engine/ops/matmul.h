// MatMul's shapes after numpy rules (batch dims broadcast, 1-D operands promoted), shared by the
// CPU kernels and the CUDA backend's cuBLAS MatMul (host code).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/ir/graph.h"

namespace mhub::engine::ops {

struct MatMulPlan {
  int64_t m = 1, k = 1, n = 1;
  std::vector<int64_t> out_dims;
  std::vector<int64_t> a_batch_offsets, b_batch_offsets;  // element offsets per output batch
};

// Throws mhub::Error (format) naming the node when the shapes do not multiply.
MatMulPlan plan_matmul(const ir::Node& node, const std::vector<int64_t>& a_dims, const std::vector<int64_t>& b_dims);

}  // namespace mhub::engine::ops
