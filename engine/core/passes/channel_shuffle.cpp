#include "engine/core/passes/channel_shuffle.h"

#include "engine/core/passes/graph_match.h"
#include "engine/ir/ops.h"

namespace mhub::engine::passes {

namespace {

bool plain_reshape(const ir::Node& node) {
  return is_op(node, ir::OpKind::Reshape, 2) && node.inputs.size() == 2 && node.attr_int("allowzero", 0) == 0;
}

// The number of elements of shape tensor `name` where the load can tell it, else -1.
int64_t known_length(const GraphIndex& index, const std::string& name) {
  if (auto c = index.int_constant(name)) return static_cast<int64_t>(c->size());
  const size_t p = index.producer(name);
  if (p == kNoNode) return -1;
  const ir::Node& concat = index.graph().nodes[p];
  if (!is_op(concat, ir::OpKind::Concat) || concat.attr_int("axis", 0) != 0) return -1;
  for (const std::string& piece : concat.inputs) {
    if (auto c = index.int_constant(piece)) {
      if (c->size() != 1) return -1;
      continue;
    }
    const size_t q = index.producer(piece);
    if (q == kNoNode || !is_op(index.graph().nodes[q], ir::OpKind::Unsqueeze)) return -1;
  }
  return static_cast<int64_t>(concat.inputs.size());
}

}  // namespace

bool channel_shuffle_output_is_4d(const ir::Graph& graph, const ir::Node& node) {
  return node.inputs.size() == 3 && known_length(GraphIndex(graph), node.inputs[2]) == 4;
}

size_t fuse_channel_shuffles(ir::Graph& graph) {
  const GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  std::vector<std::pair<size_t, ir::Node>> fused;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& split = graph.nodes[i];
    if (!plain_reshape(split) || dead[i]) continue;
    const size_t t = index.sole_reader(split.outputs[0]);
    if (t == kNoNode) continue;
    const ir::Node& transpose = graph.nodes[t];
    if (!is_op(transpose, ir::OpKind::Transpose) || transpose.attr_ints("perm") != std::vector<int64_t>{0, 2, 1, 3, 4}) continue;
    const size_t m = index.sole_reader(transpose.outputs[0]);
    if (m == kNoNode || !plain_reshape(graph.nodes[m]) || graph.nodes[m].inputs[0] != transpose.outputs[0]) continue;
    const ir::Node& merge = graph.nodes[m];
    if (known_length(index, merge.inputs[1]) != 4) continue;
    ir::Node shuffle = internal_node(ir::OpKind::ChannelShuffle, merge.name);
    shuffle.inputs = {split.inputs[0], split.inputs[1], merge.inputs[1]};
    shuffle.outputs = merge.outputs;
    dead[i] = dead[t] = true;
    fused.emplace_back(m, std::move(shuffle));
  }
  for (auto& [at, node] : fused) graph.nodes[at] = std::move(node);
  return apply_rewrites(graph, dead);
}

}  // namespace mhub::engine::passes
