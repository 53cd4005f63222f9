#include "engine/core/passes/compute_precision.h"

namespace mhub::engine::passes {

namespace {

bool computes_in_matrix_units(const ir::Node& node) {
  using ir::OpKind;
  return node.op == OpKind::Conv || node.op == OpKind::ConvTranspose || node.op == OpKind::MatMul || node.op == OpKind::Gemm ||
         node.op == OpKind::ConvGradInput || node.op == OpKind::ConvGradWeight;
}

}  // namespace

size_t hint_bf16_compute(ir::Graph& graph) {
  size_t hinted = 0;
  for (ir::Node& node : graph.nodes) {
    for (ir::Attribute& a : node.attributes) {  // If/Loop/Scan bodies (the session owns clones)
      if (a.g) hinted += hint_bf16_compute(*a.g);
      for (auto& g : a.graphs)
        if (g) hinted += hint_bf16_compute(*g);
    }
    if (!computes_in_matrix_units(node)) continue;
    ++hinted;
    if (node.attr_string(kComputeAttribute, "") != "bf16") node.attributes.push_back(ir::string_attr(kComputeAttribute, "bf16"));
  }
  return hinted;
}

}  // namespace mhub::engine::passes
