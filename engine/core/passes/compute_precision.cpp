#include "engine/core/passes/compute_precision.h"

#include <map>
#include <string>

namespace mhub::engine::passes {

namespace {

bool computes_in_matrix_units(const ir::Node& node) {
  using ir::OpKind;
  return node.op == OpKind::Conv || node.op == OpKind::ConvTranspose || node.op == OpKind::MatMul || node.op == OpKind::Gemm ||
         node.op == OpKind::ConvGradInput || node.op == OpKind::ConvGradWeight;
}

// A depthwise Conv (or its gradient): groups of one input channel each, W [M, 1, k...], known from
// W's initializer (Conv, ConvGradInput's input 1) or ConvGradWeight's weight_shape. About nine
// products per element read: memory-bound, so the bfloat16 copy of its float32 input costs more
// than bfloat16 products save (measured on MobileNetV2's depthwise layers with oneDNN on
// AVX512_BF16: the conversion pass alone takes about as long as the float32 convolution).
bool is_depthwise(const ir::Node& node, const std::map<std::string, const ir::Tensor*>& initializers) {
  using ir::OpKind;
  if (node.attr_int("group", 1) < 2) return false;
  if (node.op == OpKind::ConvGradWeight) {
    const std::vector<int64_t> w = node.attr_ints("weight_shape");
    return w.size() >= 2 && w[1] == 1;
  }
  if ((node.op != OpKind::Conv && node.op != OpKind::ConvGradInput) || node.inputs.size() < 2) return false;
  auto it = initializers.find(node.inputs[1]);
  return it != initializers.end() && it->second->dims.size() >= 2 && it->second->dims[1] == 1;
}

}  // namespace

size_t hint_bf16_compute(ir::Graph& graph) {
  size_t hinted = 0;
  std::map<std::string, const ir::Tensor*> initializers;
  for (const ir::Tensor& t : graph.initializers) initializers[t.name] = &t;
  for (ir::Node& node : graph.nodes) {
    for (ir::Attribute& a : node.attributes) {  // If/Loop/Scan bodies (the session owns clones)
      if (a.g) hinted += hint_bf16_compute(*a.g);
      for (auto& g : a.graphs)
        if (g) hinted += hint_bf16_compute(*g);
    }
    if (!computes_in_matrix_units(node) || is_depthwise(node, initializers)) continue;
    ++hinted;
    if (node.attr_string(kComputeAttribute, "") != "bf16") node.attributes.push_back(ir::string_attr(kComputeAttribute, "bf16"));
  }
  return hinted;
}

}  // namespace mhub::engine::passes
