#include "engine/core/passes/graph_match.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace mhub::engine::passes {

GraphIndex::GraphIndex(const ir::Graph& graph) : graph_(graph) {
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& node = graph.nodes[i];
    for (const std::string& out : node.outputs)
      if (!out.empty()) producer_[out] = i;
    for (const std::string& in : node.inputs) {
      if (in.empty()) continue;
      ++reads_[in];
      readers_[in].push_back(i);
    }
    // A subgraph's outer-scope reads pin the value: count them twice so it has no sole reader.
    for (const ir::Attribute& attr : node.attributes) {
      if (attr.g)
        for (const std::string& name : attr.g->outer_scope_names()) reads_[name] += 2;
      for (const auto& g : attr.graphs)
        if (g)
          for (const std::string& name : g->outer_scope_names()) reads_[name] += 2;
    }
  }
  for (const ir::ValueInfo& out : graph.outputs) reads_[out.name] += 2;
  for (const ir::ValueInfo& in : graph.inputs) graph_inputs_.insert(in.name);
}

size_t GraphIndex::producer(const std::string& value) const {
  auto it = producer_.find(value);
  return it == producer_.end() ? kNoNode : it->second;
}

int GraphIndex::reads(const std::string& value) const {
  auto it = reads_.find(value);
  return it == reads_.end() ? 0 : it->second;
}

size_t GraphIndex::sole_reader(const std::string& value) const {
  if (reads(value) != 1) return kNoNode;
  return readers_.at(value).back();
}

const std::vector<size_t>& GraphIndex::readers(const std::string& value) const {
  static const std::vector<size_t> none;
  auto it = readers_.find(value);
  return it == readers_.end() ? none : it->second;
}

const ir::Tensor* GraphIndex::float_constant(const std::string& name) const {
  if (name.empty() || graph_inputs_.count(name)) return nullptr;
  const ir::Tensor* t = graph_.initializer(name);
  return t && t->dtype == ir::DataType::float32 && t->storage ? t : nullptr;
}

std::optional<float> GraphIndex::float_scalar(const std::string& name) const {
  const ir::Tensor* t = float_constant(name);
  if (!t || t->numel() != 1) return std::nullopt;
  return t->data<float>()[0];
}

std::optional<std::vector<int64_t>> GraphIndex::int_constant(const std::string& name) const {
  if (name.empty() || graph_inputs_.count(name)) return std::nullopt;
  const ir::Tensor* t = graph_.initializer(name);
  if (!t || t->dtype != ir::DataType::int64 || (!t->storage && t->numel())) return std::nullopt;
  std::vector<int64_t> v(t->numel());
  if (!v.empty()) std::memcpy(v.data(), t->bytes(), v.size() * sizeof(int64_t));
  return v;
}

bool is_op(const ir::Node& node, ir::OpKind op, size_t inputs) {
  return node.op == op && (node.domain.empty() || node.domain == "ai.onnx") &&
         node.inputs.size() >= inputs && node.outputs.size() == 1;
}

bool pad_adds_nothing(const GraphIndex& index, const ir::Node& node) {
  if (!is_op(node, ir::OpKind::Pad) || node.attr_string("mode", "constant") != "constant") return false;
  if (node.inputs.size() < 2) {  // opset < 11: pads attribute
    for (int64_t p : node.attr_ints("pads"))
      if (p != 0) return false;
    return node.attribute("pads") != nullptr;
  }
  if (node.inputs.size() > 3 && !node.inputs[3].empty()) return false;  // axes
  const std::optional<std::vector<int64_t>> pads = index.int_constant(node.inputs[1]);
  return pads && std::all_of(pads->begin(), pads->end(), [](int64_t p) { return p == 0; });
}

bool fusable_activation(const GraphIndex& index, const ir::Node& n, ops::FusedActivation& fused) {
  using ops::Activation;
  if (n.outputs.size() != 1) return false;
  if (is_op(n, ir::OpKind::Relu)) fused = {Activation::relu};
  else if (is_op(n, ir::OpKind::Sigmoid)) fused = {Activation::sigmoid};
  else if (is_op(n, ir::OpKind::Tanh)) fused = {Activation::tanh};
  else if (is_op(n, ir::OpKind::HardSwish)) fused = {Activation::hard_swish};
  else if (is_op(n, ir::OpKind::Swish) && n.attr_float("alpha", 1.0f) == 1.0f) fused = {Activation::silu};
  else if (is_op(n, ir::OpKind::LeakyRelu)) fused = {Activation::leaky_relu, n.attr_float("alpha", 0.01f)};
  else if (is_op(n, ir::OpKind::HardSigmoid))
    fused = {Activation::hard_sigmoid, n.attr_float("alpha", 0.2f), n.attr_float("beta", 0.5f)};
  else if (is_op(n, ir::OpKind::Gelu)) {
    std::string kind = n.attr_string("approximate", "none");
    if (kind != "none" && kind != "tanh") return false;
    fused = {kind == "tanh" ? Activation::gelu_tanh : Activation::gelu};
  } else if (is_op(n, ir::OpKind::Clip)) {
    float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
    if (n.attribute("min") || n.attribute("max")) {
      if (n.inputs.size() != 1) return false;
      lo = n.attr_float("min", lo);
      hi = n.attr_float("max", hi);
    } else {
      for (size_t i = 1; i < n.inputs.size() && i < 3; ++i) {
        if (n.inputs[i].empty()) continue;
        auto v = index.float_scalar(n.inputs[i]);
        if (!v) return false;
        (i == 1 ? lo : hi) = *v;
      }
    }
    fused = {Activation::clip, lo, hi};
  } else {
    return false;
  }
  return true;
}

std::optional<SiluMatch> match_silu(const GraphIndex& index, const std::string& value) {
  const std::vector<size_t>& readers = index.readers(value);
  if (index.reads(value) != 2 || readers.size() != 2) return std::nullopt;
  const auto& nodes = index.graph().nodes;
  for (int k = 0; k < 2; ++k) {
    size_t sig = readers[k], mul = readers[1 - k];
    if (!is_op(nodes[sig], ir::OpKind::Sigmoid) || !is_op(nodes[mul], ir::OpKind::Mul, 2)) continue;
    const std::string& s = nodes[sig].outputs[0];
    if (nodes[mul].inputs.size() != 2 || other_input(nodes[mul], value) != s || index.sole_reader(s) != mul) continue;
    return SiluMatch{sig, mul};
  }
  return std::nullopt;
}

std::string other_input(const ir::Node& node, const std::string& value) {
  if (node.inputs.size() != 2) return "";
  if (node.inputs[0] == value) return node.inputs[1];
  if (node.inputs[1] == value) return node.inputs[0];
  return "";
}

bool near(float a, double b, double tol) { return std::fabs(a - b) <= tol * std::fabs(b); }

ir::Node internal_node(ir::OpKind op, const std::string& name) {
  ir::Node node;
  node.op = op;
  node.op_type = std::string(ir::op_name(op));
  node.domain = std::string(ir::kInternalDomain);
  node.name = name;
  return node;
}

ir::Attribute string_attribute(const std::string& name, const std::string& value) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttributeType::string;
  a.s = value;
  return a;
}
ir::Attribute float_attribute(const std::string& name, float value) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttributeType::float_;
  a.f = value;
  return a;
}
ir::Attribute int_attribute(const std::string& name, int64_t value) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttributeType::int_;
  a.i = value;
  return a;
}

size_t apply_rewrites(ir::Graph& graph, std::vector<bool>& dead) {
  size_t removed = 0;
  std::vector<ir::Node> kept;
  kept.reserve(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    if (dead[i]) ++removed;
    else kept.push_back(std::move(graph.nodes[i]));
  }
  graph.nodes = std::move(kept);
  return removed;
}

}  // namespace mhub::engine::passes
