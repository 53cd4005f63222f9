#include "engine/autograd/training_shapes.h"

#include "common/error.h"
#include "engine/core/session.h"
#include "engine/devices.h"
#include "onnx_io/onnx_tools.h"

namespace mhub::autograd {
namespace {

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
void probe_shapes(const ir::Model& forward, ShapeMap& shapes) {
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
  for (const auto& n : probe.graph.nodes)
    for (const auto& out : n.outputs)
      if (!out.empty() && !shapes.count(out)) {
        ir::ValueInfo info;
        info.name = out;
        probe.graph.outputs.push_back(info);
      }
  if (probe.graph.outputs.empty()) return;
  engine::SessionOptions options;
  options.threads = 1;
  engine::Session session(probe, engine::host_backend(), options);
  const auto values = session.run(feeds);
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].kind == engine::Value::Kind::tensor) shapes[probe.graph.outputs[i].name] = values[i].tensor.dims;
}

}  // namespace

ShapeMap training_value_shapes(const ir::Model& forward, const std::filesystem::path& base_dir) {
  const int64_t opset = forward.default_opset();
  if (opset < 13)
    throw Error(ErrorCategory::unsupported, "training: opset " + std::to_string(opset) + " is too old; convert the model to opset 13 or newer with mhub convert");
  ShapeMap shapes = static_shapes(onnx_io::infer_shapes_if_known(forward, base_dir));
  probe_shapes(forward, shapes);
  return shapes;
}

}  // namespace mhub::autograd
