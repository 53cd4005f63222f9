#include "onnx_io/summary.h"

#include <unordered_set>

namespace mhub::onnx_io {

std::string type_text(const ir::Type& type) {
  using K = ir::Type::Kind;
  auto inner = [&] { return type.inner ? type_text(*type.inner) : std::string("?"); };
  switch (type.kind) {
    case K::tensor: return std::string(ir::name_of(type.dtype()));
    case K::sparse_tensor: return "sparse(" + std::string(ir::name_of(type.dtype())) + ")";
    case K::sequence: return "seq(" + inner() + ")";
    case K::optional: return "optional(" + inner() + ")";
    case K::map: return "map(" + std::string(ir::name_of(type.dtype())) + "," + inner() + ")";
    case K::opaque: return "opaque(" + type.opaque_domain + ":" + type.opaque_name + ")";
    case K::none: return "?";
  }
  return "?";
}

namespace {

PortSummary port_of(const ir::ValueInfo& info) {
  PortSummary port;
  port.name = info.name;
  if (!info.type) {
    port.dtype = "?";
    return port;
  }
  port.dtype = type_text(*info.type);
  if (info.type->shape) {
    port.has_shape = true;
    for (const ir::Dim& dim : info.type->shape->dims) {
      if (dim.kind == ir::Dim::Kind::value) port.dims.push_back(std::to_string(dim.value));
      else if (dim.kind == ir::Dim::Kind::param) port.dims.push_back(dim.param);
      else port.dims.push_back("?");
    }
  }
  return port;
}

}  // namespace

ModelSummary summarize(const ir::Model& model) {
  ModelSummary summary;
  summary.ir_version = model.ir_version;
  summary.opsets = model.opset_imports;
  summary.producer = model.producer_name;
  if (!model.producer_version.empty()) summary.producer += " " + model.producer_version;
  summary.metadata = model.metadata_props;
  summary.graph_name = model.graph.name;
  std::unordered_set<std::string> initializer_names;
  for (const ir::Tensor& tensor : model.graph.initializers) initializer_names.insert(tensor.name);
  for (const ir::ValueInfo& input : model.graph.inputs)
    if (!initializer_names.count(input.name)) summary.inputs.push_back(port_of(input));
  for (const ir::ValueInfo& output : model.graph.outputs) summary.outputs.push_back(port_of(output));
  ir::for_each_graph(model.graph, [&](const ir::Graph& graph) {
    for (const ir::Node& node : graph.nodes) {
      std::string key = ir::is_default_domain(node.domain) ? node.op_type : node.domain + ":" + node.op_type;
      ++summary.op_histogram[key];
      ++summary.node_count;
    }
    for (const ir::Tensor& tensor : graph.initializers) {
      ++summary.initializer_count;
      summary.parameter_count += static_cast<int64_t>(tensor.numel());
      summary.parameter_bytes += static_cast<int64_t>(tensor.byte_size());
      if (tensor.encoding == ir::TensorEncoding::external) {
        for (const auto& [key, value] : tensor.external_data)
          if (key == "location") summary.external_files[value] += static_cast<int64_t>(tensor.byte_size());
      }
    }
  });
  summary.function_count = static_cast<int64_t>(model.functions.size());
  return summary;
}

nlohmann::json to_json(const ModelSummary& summary) {
  using nlohmann::json;
  auto ports = [](const std::vector<PortSummary>& list) {
    json array = json::array();
    for (const PortSummary& port : list) {
      json item = {{"name", port.name}, {"dtype", port.dtype}};
      item["shape"] = port.has_shape ? json(port.dims) : json(nullptr);
      array.push_back(item);
    }
    return array;
  };
  json opsets = json::array();
  for (const auto& opset : summary.opsets)
    opsets.push_back({{"domain", opset.domain.empty() ? "ai.onnx" : opset.domain}, {"version", opset.version}});
  json metadata = json::object();
  for (const auto& [key, value] : summary.metadata) metadata[key] = value;
  json external = json::array();
  for (const auto& [location, bytes] : summary.external_files)
    external.push_back({{"location", location}, {"bytes", bytes}});
  return {
      {"ir_version", summary.ir_version},
      {"opsets", opsets},
      {"producer", summary.producer},
      {"graph_name", summary.graph_name},
      {"metadata", metadata},
      {"inputs", ports(summary.inputs)},
      {"outputs", ports(summary.outputs)},
      {"nodes", summary.node_count},
      {"op_histogram", summary.op_histogram},
      {"initializers", summary.initializer_count},
      {"parameters", summary.parameter_count},
      {"parameter_bytes", summary.parameter_bytes},
      {"external_data", external},
      {"functions", summary.function_count},
  };
}

}  // namespace mhub::onnx_io
