#include "engine/core/inline_functions.h"

#include <string>

#include "common/error.h"

namespace mhub::engine {

namespace {

constexpr const char* kOpsetKey = "mhub.opset";

bool same_domain(const std::string& a, const std::string& b) {
  return a == b || (ir::is_default_domain(a) && ir::is_default_domain(b));
}

int64_t import_for(const std::vector<ir::OpsetImport>& opsets, const std::string& domain) {
  for (const ir::OpsetImport& opset : opsets)
    if (same_domain(opset.domain, domain)) return opset.version;
  return 0;
}

const ir::Function* find_function(const std::vector<ir::Function>& functions, const ir::Node& node) {
  for (const ir::Function& fn : functions)
    if (fn.name == node.op_type && same_domain(fn.domain, node.domain) && fn.overload == node.overload)
      return &fn;
  return nullptr;
}

// Attribute references (ref_attr_name) inside a body take the caller's value.
void bind_attribute_refs(std::vector<ir::Node>& nodes, const ir::Node& call, const ir::Function& fn) {
  for (ir::Node& node : nodes) {
    std::vector<ir::Attribute> bound;
    for (ir::Attribute& attr : node.attributes) {
      if (attr.g) bind_attribute_refs(attr.g->nodes, call, fn);
      for (auto& sub : attr.graphs)
        if (sub) bind_attribute_refs(sub->nodes, call, fn);
      if (attr.ref_attr_name.empty()) {
        bound.push_back(std::move(attr));
        continue;
      }
      const ir::Attribute* source = call.attribute(attr.ref_attr_name);
      if (!source)
        for (const ir::Attribute& fallback : fn.attribute_defaults)
          if (fallback.name == attr.ref_attr_name) source = &fallback;
      if (!source) continue;  // neither given nor defaulted: the attribute is absent
      ir::Attribute copy = *source;
      copy.name = attr.name;
      copy.ref_attr_name.clear();
      bound.push_back(std::move(copy));
    }
    node.attributes = std::move(bound);
  }
}

std::vector<ir::Node> expand_call(const ir::Node& call, const ir::Function& fn,
                                  const std::vector<ir::OpsetImport>& model_opsets, int& counter) {
  const std::string prefix = "__mhub_fn" + std::to_string(counter++) + "_";
  ir::Graph body;
  body.name = fn.name;
  body.nodes = fn.nodes;
  clone_subgraphs(body);
  for (const std::string& name : fn.inputs) body.inputs.push_back({name, std::nullopt, {}, {}, 0});
  for (const std::string& name : fn.outputs) body.outputs.push_back({name, std::nullopt, {}, {}, 0});

  // Two phases so a caller's name that equals one of the body's own names cannot be captured:
  // first every local name gets a unique prefix, then formals become the caller's names.
  std::vector<std::string> locals(fn.inputs.begin(), fn.inputs.end());
  locals.insert(locals.end(), fn.outputs.begin(), fn.outputs.end());
  for (const ir::Node& node : fn.nodes)
    for (const std::string& output : node.outputs)
      if (!output.empty()) locals.push_back(output);
  for (const std::string& name : locals)
    if (!name.empty()) body.rename_value(name, prefix + name);

  for (size_t i = 0; i < fn.inputs.size(); ++i) {
    const std::string formal = prefix + fn.inputs[i];
    const std::string actual = i < call.inputs.size() ? call.inputs[i] : std::string();
    if (!actual.empty()) {
      body.rename_value(formal, actual);
      continue;
    }
    for (ir::Node& node : body.nodes)  // an optional input the caller left out
      for (std::string& input : node.inputs)
        if (input == formal) input.clear();
  }
  for (size_t i = 0; i < fn.outputs.size() && i < call.outputs.size(); ++i)
    if (!call.outputs[i].empty()) body.rename_value(prefix + fn.outputs[i], call.outputs[i]);

  bind_attribute_refs(body.nodes, call, fn);
  for (ir::Node& node : body.nodes) {
    if (node.name.empty()) node.name = prefix + node.op_type;
    int64_t fn_opset = import_for(fn.opset_imports, node.domain);
    if (fn_opset != 0 && fn_opset != import_for(model_opsets, node.domain))
      node.metadata_props.emplace_back(kOpsetKey, std::to_string(fn_opset));
  }
  return std::move(body.nodes);
}

void inline_in(ir::Graph& graph, const std::vector<ir::Function>& functions,
               const std::vector<ir::OpsetImport>& model_opsets,
               const std::function<bool(const ir::Node&)>& has_kernel, int& counter, int depth) {
  if (depth > 64)
    throw_error(ErrorCategory::format, "graph '" + graph.name +
                                           "': model functions call each other more than 64 deep "
                                           "(recursive functions are not allowed in ONNX)");
  bool changed = false;
  std::vector<ir::Node> result;
  for (ir::Node& node : graph.nodes) {
    for (ir::Attribute& attr : node.attributes) {
      if (attr.g) inline_in(*attr.g, functions, model_opsets, has_kernel, counter, 0);
      for (auto& sub : attr.graphs)
        if (sub) inline_in(*sub, functions, model_opsets, has_kernel, counter, 0);
    }
    const ir::Function* fn = find_function(functions, node);
    if (!fn || has_kernel(node)) {
      result.push_back(std::move(node));
      continue;
    }
    changed = true;
    for (ir::Node& expanded : expand_call(node, *fn, model_opsets, counter))
      result.push_back(std::move(expanded));
  }
  graph.nodes = std::move(result);
  // Bodies may call further functions.
  if (changed) inline_in(graph, functions, model_opsets, has_kernel, counter, depth + 1);
}

}  // namespace

void clone_subgraphs(ir::Graph& graph) {
  for (ir::Node& node : graph.nodes)
    for (ir::Attribute& attr : node.attributes) {
      if (attr.g) {
        attr.g = std::make_shared<ir::Graph>(*attr.g);
        clone_subgraphs(*attr.g);
      }
      for (auto& sub : attr.graphs)
        if (sub) {
          sub = std::make_shared<ir::Graph>(*sub);
          clone_subgraphs(*sub);
        }
    }
}

void inline_functions(ir::Graph& graph, const std::vector<ir::Function>& functions,
                      const std::vector<ir::OpsetImport>& model_opsets,
                      const std::function<bool(const ir::Node&)>& has_kernel) {
  if (functions.empty()) return;
  int counter = 0;
  inline_in(graph, functions, model_opsets, has_kernel, counter, 0);
}

int64_t node_opset(const ir::Node& node, const std::vector<ir::OpsetImport>& model_opsets) {
  for (const auto& [key, value] : node.metadata_props)
    if (key == kOpsetKey) return std::stoll(value);
  return import_for(model_opsets, node.domain);
}

}  // namespace mhub::engine
