// Load-time pass: LayerNormalization spelled out in primitives (exports before opset 17) becomes
// one LayerNormalization node over the last axis:
//   m = ReduceMean(x, [-1]); d = x - m; v = ReduceMean(d^2, [-1]) (Pow(d, 2) or d * d);
//   y = d / Sqrt(v + eps) [* gamma] [+ beta]
// Both ReduceMeans must reduce only axis -1 with keepdims (axes as attribute, or as a constant
// input from opset 18); eps, gamma and beta must be float32 constants. Without gamma the pattern
// is left alone (the normalized length would be unknown at load).
#pragma once

#include <cstddef>

#include "engine/core/passes/graph_match.h"

namespace mhub::engine::passes {

// Returns how many nodes the rewrites removed.
size_t fuse_layer_norm(ir::Graph& graph, const CanReplace& can_replace);
inline size_t fuse_layer_norm(ir::Graph& graph) { return fuse_layer_norm(graph, CanReplace{}); }

}  // namespace mhub::engine::passes
