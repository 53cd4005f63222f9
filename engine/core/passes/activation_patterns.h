// Load-time pass: activations that exporters spell out in primitives become the one ONNX node
// they compute, so the Conv / Gemm / MatMul fusions (nn_fusion, matmul_fusion) can fold them
// into the node before them and the rest runs as one fast elementwise kernel:
// - Clip as Min / Max:  Min(Max(x, lo), hi), Max(Min(x, hi), lo), Min(Relu(x), hi)  -> Clip
//   (Relu6 is Min(Relu(x), 6) or Clip(x, 0, 6));
// - HardSigmoid:  Clip(x * a + b, 0, 1), Clip(x / d + b, 0, 1)  -> HardSigmoid(a | 1/d, b);
//                 Clip(x + b, 0, c) / c (or * 1/c)             -> HardSigmoid(1/c, b/c)
//   (torch's x * Relu6(x + 3) / 6 family; Paddle's Clip(x + 3, 0, 6) / 6);
// - HardSwish:  x * HardSigmoid(x) with alpha 1/6, beta 1/2 (any HardSigmoid form above), and
//   (x * Clip(x + 3, 0, 6)) / 6 or * (1/6)  -> HardSwish;
// - SiLU:  x * Sigmoid(x)  -> Swish (alpha 1), which the fusions treat as SiLU.
// Products and sums take their operands in either order; "Clip" is any of the Clip forms. The
// constants must be float32 initializers callers cannot override, with one element and rank at
// most 1 (rank 1 only where x's rank is known to be at least 1, so broadcasting cannot change the
// output's shape), and exactly the values above (1/6 and the like within 1e-6 relative, i.e. the
// float32 rounding of a printed decimal). Every intermediate value must have the next node of its
// pattern as only reader; x may have any number of readers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/core/passes/graph_match.h"

namespace mhub::engine::passes {

// `opset` is the model's default-domain opset: a Clip written for Min / Max takes its bounds
// as attributes before opset 11 and as constant inputs from 11 on. Returns how many nodes the
// rewrites removed.
size_t canonicalize_activations(ir::Graph& graph, int64_t opset, const CanReplace& can_replace);
inline size_t canonicalize_activations(ir::Graph& graph, int64_t opset) {
  return canonicalize_activations(graph, opset, CanReplace{});
}

}  // namespace mhub::engine::passes
