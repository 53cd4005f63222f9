#include "engine/core/passes/concat_batch_norm.h"

#include "engine/core/passes/graph_match.h"
#include "engine/ir/ops.h"
#include "engine/ops/fused_activation.h"

namespace mhub::engine::passes {

namespace {

// A BatchNormalization in inference mode reading `input` as X, with one output and float32
// constant parameters of one dim, all of one size.
bool inference_batch_norm_of(const GraphIndex& index, const ir::Node& bn, const std::string& input) {
  if (!is_op(bn, ir::OpKind::BatchNormalization, 5) || bn.inputs.size() != 5 || bn.inputs[0] != input) return false;
  if (bn.attr_int("training_mode", 0) != 0 || bn.attr_int("spatial", 1) != 1) return false;
  for (size_t o = 1; o < bn.outputs.size(); ++o)
    if (!bn.outputs[o].empty()) return false;
  const ir::Tensor* first = nullptr;
  for (size_t i = 1; i < 5; ++i) {
    const ir::Tensor* p = index.float_constant(bn.inputs[i]);
    if (!p || p->dims.size() != 1 || (first && p->dims != first->dims)) return false;
    first = first ? first : p;
  }
  return true;
}

}  // namespace

size_t fuse_concat_batch_norms(ir::Graph& graph) {
  const GraphIndex index(graph);
  std::vector<bool> dead(graph.nodes.size(), false);
  std::vector<std::pair<size_t, ir::Node>> fused;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& concat = graph.nodes[i];
    if (!is_op(concat, ir::OpKind::Concat) || concat.outputs.size() != 1 || concat.attr_int("axis", 0) != 1) continue;
    bool absent = false;
    for (const std::string& in : concat.inputs) absent |= in.empty();
    if (absent) continue;
    const size_t b = index.sole_reader(concat.outputs[0]);
    if (b == kNoNode || dead[b] || !inference_batch_norm_of(index, graph.nodes[b], concat.outputs[0])) continue;
    const ir::Node& bn = graph.nodes[b];
    ir::Node node = internal_node(ir::OpKind::ConcatBatchNorm, bn.name);
    node.inputs = concat.inputs;
    node.inputs.insert(node.inputs.end(), bn.inputs.begin() + 1, bn.inputs.end());
    node.outputs = {bn.outputs[0]};
    node.attributes.push_back(int_attribute("axis", 1));
    node.attributes.push_back(float_attribute("epsilon", bn.attr_float("epsilon", 1e-5f)));
    ops::set_fused_activation(node, ops::fused_activation_of(bn));
    dead[i] = true;
    fused.emplace_back(b, std::move(node));
  }
  for (auto& [at, node] : fused) graph.nodes[at] = std::move(node);
  return apply_rewrites(graph, dead);
}

}  // namespace mhub::engine::passes
