// The transformer fusions in the order the session runs them (before nn_fusion.h): GELU and
// LayerNormalization formulas first (gelu_fusion.h, layer_norm_fusion.h), then attention
// (attention_fusion.h), then MatMul + bias + activation (matmul_fusion.h), so a Gelu found by
// the first pass can end up as a MatMul epilogue.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/core/passes/graph_match.h"

namespace mhub::engine::passes {

// Returns how many nodes were removed; `opset` is the model's default-domain opset; each rewrite
// is first offered to `can_replace` (graph_match.h).
size_t fuse_transformer_patterns(ir::Graph& graph, int64_t opset, const CanReplace& can_replace);
inline size_t fuse_transformer_patterns(ir::Graph& graph, int64_t opset) {
  return fuse_transformer_patterns(graph, opset, CanReplace{});
}

}  // namespace mhub::engine::passes
