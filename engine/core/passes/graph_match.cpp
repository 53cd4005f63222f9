#include "engine/core/passes/graph_match.h"

#include <cmath>
#include <cstring>

namespace mhub::engine::passes {

GraphIndex::GraphIndex(const ir::Graph& graph) : graph_(graph) {
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& node = graph.nodes[i];
    for (const std::string& out : node.outputs)
      if (!out.empty()) producer_[out] = i;
    for (const std::string& in : node.inputs) {
      if (in.empty()) continue;
      ++reads_[in];
      reader_[in] = i;
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
  return reader_.at(value);
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

std::string other_input(const ir::Node& node, const std::string& value) {
  if (node.inputs.size() != 2) return "";
  if (node.inputs[0] == value) return node.inputs[1];
  if (node.inputs[1] == value) return node.inputs[0];
  return "";
}

bool near(float a, double b, double tol) { return std::fabs(a - b) <= tol * std::fabs(b); }

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
