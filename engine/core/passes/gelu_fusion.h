// Load-time pass: the GELU formulas exporters spell out in primitives become one Gelu node
// (opset-20 semantics, run by the CPU kernels whatever the model's opset):
// - exact:  x * 0.5 * (1 + Erf(x / sqrt(2)))   (Div by ~1.41421 or Mul by ~0.70711)
// - tanh:   x * 0.5 * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))   (x^3 as Pow(x, 3) or
//           x * x * x) -> Gelu(approximate = "tanh")
// The final product may be ((x * t) * 0.5), ((x * 0.5) * t) or (x * (t * 0.5)), operands in
// either order. Constants must be float32 scalars known at load; every intermediate value must
// have the next node of the pattern as its only reader.
#pragma once

#include <cstddef>

#include "engine/core/passes/graph_match.h"

namespace mhub::engine::passes {

// Returns how many nodes the rewrites removed.
size_t fuse_gelu(ir::Graph& graph, const CanReplace& can_replace);
inline size_t fuse_gelu(ir::Graph& graph) { return fuse_gelu(graph, CanReplace{}); }

}  // namespace mhub::engine::passes
