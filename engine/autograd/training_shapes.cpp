#include "engine/autograd/training_shapes.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "common/error.h"
#include "engine/core/session.h"
#include "engine/devices.h"
#include "onnx_io/onnx_tools.h"

namespace mhub::autograd {
namespace {

// A value larger than this stays computed (a folded value becomes an initializer of the training
// graph; Swin's largest window mask is 0.6 MB).
constexpr uint64_t kMaxFoldedBytes = 16u << 20;

bool has_subgraph(const ir::Node& n) {
  for (const auto& a : n.attributes)
    if (a.g || !a.graphs.empty()) return true;
  return false;
}

// Whether a node's outputs follow from its inputs alone (no random draw, no subgraph, an op
// mhub knows), so that inputs fixed by the static shapes fix them too.
bool deterministic(const ir::Node& n) {
  return n.op != ir::OpKind::opaque && !ir::is_internal_op(n.op) && ir::op_family(n.op) != ir::OpFamily::random && !has_subgraph(n);
}

// The values of `g` that depend on static dims and constants only (see the header), mapped to
// the index of the node computing them.
std::unordered_map<std::string, size_t> shape_determined(const ir::Graph& g) {
  std::unordered_map<std::string, size_t> determined;
  auto known = [&](const std::string& v) {
    if (v.empty() || determined.count(v)) return true;
    const ir::Tensor* t = g.initializer(v);
    // Float initializers are parameters or running statistics, which training changes.
    return t && !ir::is_float(t->dtype);
  };
  for (size_t i : g.topological_order()) {
    const ir::Node& n = g.nodes[i];
    if (!deterministic(n)) continue;
    const bool dims_only = n.op == ir::OpKind::Shape || n.op == ir::OpKind::Size;  // read dims, not data
    if (!dims_only && !std::all_of(n.inputs.begin(), n.inputs.end(), known)) continue;
    for (const auto& o : n.outputs)
      if (!o.empty()) determined[o] = i;
  }
  return determined;
}

// Values read by node `n`, the names its subgraphs read from this scope included.
std::vector<std::string> reads(const ir::Node& n) {
  std::vector<std::string> names = n.inputs;
  for (const auto& a : n.attributes) {
    if (a.g) for (const auto& v : a.g->outer_scope_names()) names.push_back(v);
    for (const auto& sub : a.graphs)
      for (const auto& v : sub->outer_scope_names()) names.push_back(v);
  }
  return names;
}

ShapeMap static_shapes(const ir::Model& model) {
  ShapeMap shapes;
  auto take = [&](const ir::ValueInfo& info) {
    if (!info.type || info.type->kind != ir::Type::Kind::tensor || !info.type->shape) return;
    std::vector<int64_t> dims;
    for (const auto& d : info.type->shape->dims) {
      if (d.kind != ir::Dim::Kind::value) return;
      dims.push_back(d.value);
    }
    shapes[info.name] = dims;
  };
  for (const auto& v : model.graph.inputs) take(v);
  for (const auto& v : model.graph.outputs) take(v);
  for (const auto& v : model.graph.value_info) take(v);
  for (const auto& t : model.graph.initializers) shapes[t.name] = t.dims;
  return shapes;
}

// Shape inference cannot follow shapes computed at run time (Reshape targets built from
// Shape/Concat chains), so the remaining shapes come from running the forward model once on
// zeros with every node output exposed.
void probe_shapes(const ir::Model& forward, ShapeMap& shapes, ConstantMap* constants) {
  ir::Model probe = forward;
  std::vector<std::pair<std::string, engine::Value>> feeds;
  for (const auto& in : probe.graph.inputs) {
    if (probe.graph.initializer(in.name)) continue;
    auto it = shapes.find(in.name);
    if (it == shapes.end() || !in.type)
      throw Error(ErrorCategory::unsupported, "training graph: input '" + in.name + "' has no fixed shape; export the model with fixed input shapes");
    feeds.emplace_back(in.name, engine::Value::of(ir::Tensor::zeros(in.type->dtype(), it->second)));
  }
  probe.graph.outputs.clear();
  const std::vector<std::string> frontier = constants ? shape_constant_frontier(forward.graph) : std::vector<std::string>{};
  const std::set<std::string> wanted(frontier.begin(), frontier.end());
  for (const auto& n : probe.graph.nodes)
    for (const auto& out : n.outputs)
      if (!out.empty() && (!shapes.count(out) || wanted.count(out))) {
        ir::ValueInfo info;
        info.name = out;
        probe.graph.outputs.push_back(info);
      }
  if (probe.graph.outputs.empty()) return;
  engine::SessionOptions options;
  options.threads = 1;
  engine::Session session(probe, engine::host_backend(), options);
  const auto values = session.run(feeds);
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i].kind != engine::Value::Kind::tensor) continue;
    const std::string& name = probe.graph.outputs[i].name;
    const ir::Tensor& t = values[i].tensor;
    shapes[name] = t.dims;
    // Strings have no bytes to copy; the session's buffers are reused, so the value is copied.
    if (wanted.count(name) && t.dtype != ir::DataType::string && t.byte_size() <= kMaxFoldedBytes && (t.bytes() || t.numel() == 0))
      (*constants)[name] = ir::Tensor::from_bytes(t.dtype, t.dims, t.bytes(), t.byte_size(), name);
  }
}

}  // namespace

std::vector<std::string> shape_constant_frontier(const ir::Graph& g) {
  const auto determined = shape_determined(g);
  std::set<std::string> outputs;
  for (const auto& o : g.outputs) outputs.insert(o.name);
  std::vector<std::string> frontier;
  std::set<std::string> seen;
  for (const auto& n : g.nodes) {
    auto own = n.outputs.empty() ? determined.end() : determined.find(n.outputs[0]);
    if (own != determined.end()) continue;  // a reader inside the determined part
    for (const auto& v : reads(n)) {
      auto it = determined.find(v);
      // Constant nodes are constants already; graph outputs keep their producers.
      if (it == determined.end() || g.nodes[it->second].op == ir::OpKind::Constant || outputs.count(v)) continue;
      if (seen.insert(v).second) frontier.push_back(v);
    }
  }
  return frontier;
}

ir::Model fold_shape_constants(const ir::Model& forward, const ConstantMap& constants) {
  if (constants.empty()) return forward;
  ir::Model model = forward;
  ir::Graph& g = model.graph;
  const auto determined = shape_determined(g);
  for (const auto& [name, value] : constants) g.initializers.push_back(value);
  // Drop the determined nodes nothing reads any more, from the last back, so a chain goes whole.
  std::set<size_t> dropped;
  const auto order = g.topological_order();
  std::unordered_map<std::string, int> readers;
  for (const auto& n : g.nodes)
    for (const auto& v : reads(n)) ++readers[v];
  for (const auto& o : g.outputs) ++readers[o.name];
  for (const auto& [name, value] : constants) readers[name] = 0;  // the initializer answers them now
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const ir::Node& n = g.nodes[*it];
    if (n.outputs.empty() || !determined.count(n.outputs[0])) continue;
    const bool unread = std::all_of(n.outputs.begin(), n.outputs.end(),
                                    [&](const std::string& o) { return o.empty() || readers[o] <= 0; });
    if (!unread) continue;
    dropped.insert(*it);
    for (const auto& v : reads(n)) --readers[v];  // a folded value goes below 0: still unread
  }
  std::vector<ir::Node> kept;
  std::set<std::string> still_computed;  // a kept node's folded output (another output is read): no initializer
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (dropped.count(i)) continue;
    for (const auto& o : g.nodes[i].outputs)
      if (constants.count(o)) still_computed.insert(o);
    kept.push_back(std::move(g.nodes[i]));
  }
  g.nodes = std::move(kept);
  if (!still_computed.empty())
    g.initializers.erase(std::remove_if(g.initializers.begin(), g.initializers.end(),
                                        [&](const ir::Tensor& t) { return still_computed.count(t.name) > 0; }),
                         g.initializers.end());
  return model;
}

ShapeMap training_value_shapes(const ir::Model& forward, const std::filesystem::path& base_dir, ConstantMap* shape_constants) {
  const int64_t opset = forward.default_opset();
  if (opset < 13)
    throw Error(ErrorCategory::unsupported, "training: opset " + std::to_string(opset) + " is too old; convert the model to opset 13 or newer with mhub convert");
  ShapeMap shapes = static_shapes(onnx_io::infer_shapes_if_known(forward, base_dir));
  probe_shapes(forward, shapes, shape_constants);
  return shapes;
}

}  // namespace mhub::autograd
