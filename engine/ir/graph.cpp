#include "engine/ir/graph.h"

#include <algorithm>
#include <unordered_set>

#include "common/error.h"

namespace mhub::ir {

Type Type::tensor(DataType dtype, std::optional<Shape> shape) {
  Type type;
  type.kind = Kind::tensor;
  type.elem_type = static_cast<int32_t>(dtype);
  type.has_elem_type = true;
  type.shape = std::move(shape);
  return type;
}

const Attribute* Node::attribute(std::string_view attr_name) const {
  for (const Attribute& attr : attributes)
    if (attr.name == attr_name) return &attr;
  return nullptr;
}

int64_t Node::attr_int(std::string_view attr_name, int64_t fallback) const {
  const Attribute* attr = attribute(attr_name);
  return attr ? attr->i : fallback;
}

float Node::attr_float(std::string_view attr_name, float fallback) const {
  const Attribute* attr = attribute(attr_name);
  return attr ? attr->f : fallback;
}

std::string Node::attr_string(std::string_view attr_name, std::string fallback) const {
  const Attribute* attr = attribute(attr_name);
  return attr ? attr->s : fallback;
}

std::vector<int64_t> Node::attr_ints(std::string_view attr_name) const {
  const Attribute* attr = attribute(attr_name);
  return attr ? attr->ints : std::vector<int64_t>{};
}

const Tensor* Graph::initializer(std::string_view value_name) const {
  for (const Tensor& tensor : initializers)
    if (tensor.name == value_name) return &tensor;
  return nullptr;
}

std::unordered_map<std::string, size_t> Graph::producers() const {
  std::unordered_map<std::string, size_t> result;
  for (size_t index = 0; index < nodes.size(); ++index)
    for (const std::string& output : nodes[index].outputs)
      if (!output.empty()) result.emplace(output, index);
  return result;
}

namespace {

// Names a node reads: its inputs plus what its subgraphs take from the enclosing scope.
std::vector<std::string> names_read_by(const Node& node) {
  std::vector<std::string> names;
  for (const std::string& input : node.inputs)
    if (!input.empty()) names.push_back(input);
  for (const Attribute& attr : node.attributes) {
    if (attr.g)
      for (std::string& name : attr.g->outer_scope_names()) names.push_back(std::move(name));
    for (const auto& sub : attr.graphs)
      if (sub)
        for (std::string& name : sub->outer_scope_names()) names.push_back(std::move(name));
  }
  return names;
}

std::unordered_set<std::string> names_defined_in(const Graph& graph) {
  std::unordered_set<std::string> defined;
  for (const ValueInfo& input : graph.inputs) defined.insert(input.name);
  for (const Tensor& init : graph.initializers) defined.insert(init.name);
  for (const SparseTensor& sparse : graph.sparse_initializers) defined.insert(sparse.values.name);
  for (const Node& node : graph.nodes)
    for (const std::string& output : node.outputs)
      if (!output.empty()) defined.insert(output);
  return defined;
}

}  // namespace

std::vector<std::string> Graph::outer_scope_names() const {
  std::unordered_set<std::string> defined = names_defined_in(*this);
  std::vector<std::string> outer;
  std::unordered_set<std::string> seen;
  auto note = [&](const std::string& name) {
    if (!name.empty() && !defined.count(name) && seen.insert(name).second) outer.push_back(name);
  };
  for (const Node& node : nodes)
    for (const std::string& name : names_read_by(node)) note(name);
  for (const ValueInfo& output : outputs) note(output.name);
  return outer;
}

std::vector<size_t> Graph::topological_order() const {
  auto producer_of = producers();
  // Kahn's algorithm, taking ready nodes in file order so an already sorted graph is unchanged.
  std::vector<size_t> pending(nodes.size(), 0);
  std::vector<std::vector<size_t>> consumers(nodes.size());
  for (size_t index = 0; index < nodes.size(); ++index) {
    std::unordered_set<size_t> waits_on;
    for (const std::string& name : names_read_by(nodes[index])) {
      auto it = producer_of.find(name);
      if (it != producer_of.end() && it->second != index) waits_on.insert(it->second);
    }
    pending[index] = waits_on.size();
    for (size_t producer : waits_on) consumers[producer].push_back(index);
  }
  std::vector<size_t> order;
  order.reserve(nodes.size());
  std::vector<size_t> ready;
  for (size_t index = nodes.size(); index-- > 0;)
    if (pending[index] == 0) ready.push_back(index);
  while (!ready.empty()) {
    size_t index = ready.back();
    ready.pop_back();
    order.push_back(index);
    std::vector<size_t> released;
    for (size_t consumer : consumers[index])
      if (--pending[consumer] == 0) released.push_back(consumer);
    // keep the smallest index on top of the stack
    std::sort(released.rbegin(), released.rend());
    for (size_t consumer : released) ready.push_back(consumer);
    std::sort(ready.rbegin(), ready.rend());
  }
  if (order.size() != nodes.size()) {
    for (size_t index = 0; index < nodes.size(); ++index)
      if (pending[index] != 0)
        throw_error(ErrorCategory::format,
                    "graph '" + name + "' has a cycle through node '" + nodes[index].name +
                        "' (" + nodes[index].op_type + ")");
  }
  return order;
}

void Graph::sort_topologically() {
  std::vector<size_t> order = topological_order();
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  for (size_t index : order) sorted.push_back(std::move(nodes[index]));
  nodes = std::move(sorted);
}

void Graph::replace_node(size_t index, Node replacement) {
  if (index >= nodes.size())
    throw_error(ErrorCategory::internal, "replace_node: index " + std::to_string(index) +
                                             " past the end of graph '" + name + "'");
  nodes[index] = std::move(replacement);
}

size_t Graph::remove_unused() {
  std::unordered_set<std::string> live;
  for (const ValueInfo& output : outputs) live.insert(output.name);
  std::vector<size_t> order = topological_order();
  std::vector<bool> keep(nodes.size(), false);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const Node& node = nodes[*it];
    bool needed = node.outputs.empty();  // a node with no outputs is kept for its effect
    for (const std::string& output : node.outputs)
      if (!output.empty() && live.count(output)) needed = true;
    if (!needed) continue;
    keep[*it] = true;
    for (const std::string& name : names_read_by(node)) live.insert(name);
  }
  size_t removed = 0;
  std::vector<Node> kept;
  for (size_t index = 0; index < nodes.size(); ++index) {
    if (keep[index])
      kept.push_back(std::move(nodes[index]));
    else
      ++removed;
  }
  nodes = std::move(kept);
  std::erase_if(initializers, [&](const Tensor& t) {
    bool is_input = std::any_of(inputs.begin(), inputs.end(),
                                [&](const ValueInfo& in) { return in.name == t.name; });
    return !live.count(t.name) && !is_input;
  });
  std::unordered_set<std::string> defined = names_defined_in(*this);
  std::erase_if(value_info, [&](const ValueInfo& info) { return !defined.count(info.name); });
  return removed;
}

namespace {

void rename_in(Graph& graph, const std::string& from, const std::string& to, bool top) {
  // A nested graph that defines `from` itself shadows the outer value: leave it alone.
  if (!top && names_defined_in(graph).count(from)) return;
  auto fix = [&](std::string& name) {
    if (name == from) name = to;
  };
  for (Node& node : graph.nodes) {
    for (std::string& input : node.inputs) fix(input);
    if (top)
      for (std::string& output : node.outputs) fix(output);
    for (Attribute& attr : node.attributes) {
      if (attr.g) rename_in(*attr.g, from, to, false);
      for (auto& sub : attr.graphs)
        if (sub) rename_in(*sub, from, to, false);
    }
  }
  for (ValueInfo& output : graph.outputs) fix(output.name);
  if (!top) return;
  for (ValueInfo& input : graph.inputs) fix(input.name);
  for (ValueInfo& info : graph.value_info) fix(info.name);
  for (Tensor& init : graph.initializers) fix(init.name);
  for (SparseTensor& sparse : graph.sparse_initializers) fix(sparse.values.name);
  for (QuantizationAnnotation& note : graph.quantization_annotation) fix(note.tensor_name);
}

}  // namespace

void Graph::rename_value(const std::string& from, const std::string& to) {
  if (from.empty() || to.empty())
    throw_error(ErrorCategory::usage, "rename_value: value names must not be empty");
  rename_in(*this, from, to, true);
}

int64_t Model::default_opset() const {
  for (const OpsetImport& opset : opset_imports)
    if (is_default_domain(opset.domain)) return opset.version;
  return 0;
}

void for_each_graph(const Graph& graph, const std::function<void(const Graph&)>& visit) {
  visit(graph);
  for (const Node& node : graph.nodes)
    for (const Attribute& attr : node.attributes) {
      if (attr.g) for_each_graph(*attr.g, visit);
      for (const auto& sub : attr.graphs)
        if (sub) for_each_graph(*sub, visit);
    }
}

Attribute int_attr(const std::string& name, int64_t value) {
  Attribute a;
  a.name = name;
  a.type = AttributeType::int_;
  a.i = value;
  return a;
}

Attribute ints_attr(const std::string& name, std::vector<int64_t> values) {
  Attribute a;
  a.name = name;
  a.type = AttributeType::ints;
  a.ints = std::move(values);
  return a;
}

Attribute float_attr(const std::string& name, float value) {
  Attribute a;
  a.name = name;
  a.type = AttributeType::float_;
  a.f = value;
  return a;
}

Attribute string_attr(const std::string& name, std::string value) {
  Attribute a;
  a.name = name;
  a.type = AttributeType::string;
  a.s = std::move(value);
  return a;
}

}  // namespace mhub::ir
