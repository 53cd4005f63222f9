// Load-time pass: MatMul by a float32 weight initializer W [K, N], followed by the Add of a
// bias b (a float32 constant of N elements, 1-D) and/or an activation (passes::fusable_activation:
// Relu, LeakyRelu, Gelu either approximation, Clip with constant bounds, Sigmoid, Tanh,
// HardSigmoid, HardSwish), becomes one MatMul node:
//   inputs (A, W, b) — the third input is the row bias, "" without one — and the internal
//   attribute mhub_activation (engine/ops/fused_activation.h),
// which the MatMul kernels apply to each finished row block (the fast one in a threaded pass
// right after the GEMM). Gemm followed by Gelu gets mhub_activation the same way. The fused
// value must have the next node as its only reader. W may be a default a caller overrides: the
// kernels read W and b at run time and keep nothing from one run to the next.
#pragma once

#include <cstddef>

#include "engine/core/passes/graph_match.h"

namespace mhub::engine::passes {

// Returns how many nodes the rewrites removed.
size_t fuse_matmul_epilogues(ir::Graph& graph, const CanReplace& can_replace);
inline size_t fuse_matmul_epilogues(ir::Graph& graph) { return fuse_matmul_epilogues(graph, CanReplace{}); }

}  // namespace mhub::engine::passes
