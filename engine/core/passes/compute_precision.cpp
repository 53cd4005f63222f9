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

// A depthwise Conv of an inference graph: groups of one input channel each, W [M, 1, k...] known
// from W's initializer. About nine products per element read, so it is memory-bound, and its
// float32 input, read in place where channels-last, would first be copied to bfloat16: that copy
// took about as long as the float32 convolution (oneDNN's per-primitive times on MobileNetV2's
// depthwise layers with AVX512_BF16, 2 threads: copy + bf16 conv 1.1-2.7x the float32 conv).
// Training graphs (those holding Conv gradients) keep the hint on depthwise Convs and their
// gradients: their plain-layout activations are reordered for oneDNN anyway, so the bfloat16
// copy comes free, and oneDNN's bf16 depthwise backward-data ran about 3x faster than its
// float32 one (MobileNetV2 training step, same measurement).
bool is_inference_depthwise(const ir::Node& node, const std::map<std::string, const ir::Tensor*>& initializers) {
  if (node.op != ir::OpKind::Conv || node.attr_int("group", 1) < 2 || node.inputs.size() < 2) return false;
  auto it = initializers.find(node.inputs[1]);
  return it != initializers.end() && it->second->dims.size() >= 2 && it->second->dims[1] == 1;
}

}  // namespace

size_t hint_bf16_compute(ir::Graph& graph) {
  size_t hinted = 0;
  std::map<std::string, const ir::Tensor*> initializers;
  for (const ir::Tensor& t : graph.initializers) initializers[t.name] = &t;
  bool training = false;
  for (const ir::Node& node : graph.nodes)
    training = training || node.op == ir::OpKind::ConvGradInput || node.op == ir::OpKind::ConvGradWeight;
  for (ir::Node& node : graph.nodes) {
    for (ir::Attribute& a : node.attributes) {  // If/Loop/Scan bodies (the session owns clones)
      if (a.g) hinted += hint_bf16_compute(*a.g);
      for (auto& g : a.graphs)
        if (g) hinted += hint_bf16_compute(*g);
    }
    if (!computes_in_matrix_units(node) || (!training && is_inference_depthwise(node, initializers))) continue;
    ++hinted;
    if (node.attr_string(kComputeAttribute, "") != "bf16") node.attributes.push_back(ir::string_attr(kComputeAttribute, "bf16"));
  }
  return hinted;
}

}  // namespace mhub::engine::passes
