#include "engine/core/passes/transformer_fusion.h"

#include "engine/core/passes/attention_fusion.h"
#include "engine/core/passes/gelu_fusion.h"
#include "engine/core/passes/layer_norm_fusion.h"
#include "engine/core/passes/matmul_fusion.h"

namespace mhub::engine::passes {

size_t fuse_transformer_patterns(ir::Graph& graph, int64_t opset, const CanReplace& can_replace) {
  size_t removed = fuse_gelu(graph, can_replace);
  removed += fuse_layer_norm(graph, can_replace);
  removed += fuse_attention(graph, opset, can_replace);
  removed += fuse_matmul_epilogues(graph, can_replace);
  return removed;
}

}  // namespace mhub::engine::passes
