#include "engine/core/passes/compute_precision.h"

#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>

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

namespace {

bool hinted(const ir::Node& node) {
  return node.domain.empty() && (node.op == ir::OpKind::Conv || node.op == ir::OpKind::MatMul) &&
         node.attr_string(kComputeAttribute, "") == "bf16";
}

// Whether input `position` of `reader` is an activation a bfloat16 kernel may read as storage.
bool reads_activation(const ir::Node& reader, size_t position) {
  if (!hinted(reader)) return false;
  return position == 0 || (reader.op == ir::OpKind::Conv && position == 3);
}

void drop_storage_mark(ir::Node& node) {
  std::erase_if(node.attributes, [](const ir::Attribute& a) { return a.name == kStorageAttribute; });
}

}  // namespace

size_t store_bf16_activations(ir::Graph& graph, const Bf16ReadQuery& reads_bf16) {
  for (ir::Node& node : graph.nodes) drop_storage_mark(node);
  std::unordered_set<std::string> excluded;  // graph outputs and values subgraphs read
  for (const ir::ValueInfo& v : graph.outputs) excluded.insert(v.name);
  // value -> (reader index, input position) for every read
  std::unordered_map<std::string, std::vector<std::pair<size_t, size_t>>> reads;
  for (size_t n = 0; n < graph.nodes.size(); ++n) {
    const ir::Node& node = graph.nodes[n];
    for (const ir::Attribute& attr : node.attributes) {
      if (attr.g)
        for (const std::string& name : attr.g->outer_scope_names()) excluded.insert(name);
      for (const auto& g : attr.graphs)
        if (g)
          for (const std::string& name : g->outer_scope_names()) excluded.insert(name);
    }
    for (size_t i = 0; i < node.inputs.size(); ++i)
      if (!node.inputs[i].empty()) reads[node.inputs[i]].push_back({n, i});
  }
  std::unordered_set<std::string> stored;
  for (const ir::Node& node : graph.nodes) {
    if (!hinted(node) || node.outputs.size() != 1 || node.outputs[0].empty()) continue;
    const std::string& value = node.outputs[0];
    auto it = reads.find(value);
    if (excluded.count(value) || it == reads.end()) continue;
    const bool conv_readers = std::all_of(it->second.begin(), it->second.end(), [&](const std::pair<size_t, size_t>& r) {
      return reads_activation(graph.nodes[r.first], r.second);
    });
    if (conv_readers) stored.insert(value);
  }
  // A reader's kernel is asked once with every stored input of it in bfloat16; a refusal keeps
  // all of that reader's inputs float32 (one pass: refusals only shrink the set).
  for (const auto& [value, readers] : reads) {
    if (!stored.count(value)) continue;
    for (const auto& [n, position] : readers) {
      (void)position;
      const ir::Node& reader = graph.nodes[n];
      std::vector<ir::DataType> types(reader.inputs.size(), ir::DataType::float32);
      for (size_t i = 0; i < reader.inputs.size(); ++i) {
        if (reader.inputs[i].empty()) types[i] = ir::DataType::undefined;
        else if (stored.count(reader.inputs[i])) types[i] = ir::DataType::bfloat16;
      }
      if (!reads_bf16(reader, types)) {
        for (const std::string& in : reader.inputs) stored.erase(in);
        break;
      }
    }
  }
  size_t count = 0;
  for (ir::Node& node : graph.nodes) {
    if (!hinted(node) || node.outputs.size() != 1 || !stored.count(node.outputs[0])) continue;
    node.attributes.push_back(ir::string_attr(kStorageAttribute, "bf16"));
    ++count;
  }
  return count;
}

std::vector<std::string> bf16_stored_values(const ir::Graph& graph) {
  std::vector<std::string> names;
  for (const ir::Node& node : graph.nodes)
    if (node.attr_string(kStorageAttribute, "") == "bf16") names.push_back(node.outputs[0]);
  return names;
}

}  // namespace mhub::engine::passes
