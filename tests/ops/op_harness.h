// Runs one ONNX node through a real Session (so op specs exercise the same path as models):
// inputs are bound to graph inputs "in0", "in1", ...; outputs come back in order.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/core/session.h"

namespace mhub::test {

struct OpCase {
  std::string op;
  std::vector<ir::Attribute> attributes = {};
  int64_t opset = 21;
  size_t outputs = 1;
  std::string domain = "";  // e.g. ir::kInternalDomain for mhub's gradient ops
  int threads = 1;          // 2 exercises the kernels' threaded paths
  std::string node_name = "under_test";  // what error messages name
};

// The IR's attribute builders (engine/ir/graph.h), by the names the op specs use.
using ir::float_attr;
using ir::int_attr;
using ir::ints_attr;
using ir::string_attr;

// Inputs with dtype undefined are passed as absent ("").
inline std::vector<engine::Value> run_op(const OpCase& spec, const std::vector<ir::Tensor>& inputs,
                                         bool allow_fast = true) {
  ir::Model model;
  model.ir_version = 9;
  model.opset_imports = {{"", spec.opset, 0}};
  if (!spec.domain.empty()) model.opset_imports.push_back({spec.domain, 1, 0});
  model.graph.name = "op";
  ir::Node node;
  node.op_type = spec.op;
  node.domain = spec.domain;
  node.op = ir::lookup_op(spec.domain, spec.op);
  node.name = spec.node_name;
  node.attributes = spec.attributes;
  std::vector<std::pair<std::string, engine::Value>> feeds;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].dtype == ir::DataType::undefined) {
      node.inputs.push_back("");
      continue;
    }
    std::string name = "in" + std::to_string(i);
    node.inputs.push_back(name);
    model.graph.inputs.push_back({name, ir::Type::tensor(inputs[i].dtype, std::nullopt), {}, {}, 0});
    feeds.emplace_back(name, engine::Value::of(inputs[i]));
  }
  for (size_t k = 0; k < spec.outputs; ++k) {
    std::string name = "out" + std::to_string(k);
    node.outputs.push_back(name);
    model.graph.outputs.push_back({name, std::nullopt, {}, {}, 0});
  }
  model.graph.nodes.push_back(node);
  engine::SessionOptions options;
  options.threads = spec.threads;
  options.allow_fast = allow_fast;
  engine::Session session(model, options);
  return session.run(feeds);
}

template <typename T>
ir::Tensor tensor_of(ir::DataType dtype, std::vector<int64_t> dims, std::vector<T> values) {
  return ir::Tensor::from_bytes(dtype, std::move(dims), values.data(), values.size() * sizeof(T));
}
inline ir::Tensor f32(std::vector<int64_t> dims, std::vector<float> values) {
  return tensor_of(ir::DataType::float32, std::move(dims), std::move(values));
}
inline ir::Tensor i64(std::vector<int64_t> dims, std::vector<int64_t> values) {
  return tensor_of(ir::DataType::int64, std::move(dims), std::move(values));
}
inline ir::Tensor i32(std::vector<int64_t> dims, std::vector<int32_t> values) {
  return tensor_of(ir::DataType::int32, std::move(dims), std::move(values));
}
inline ir::Tensor absent() { return ir::Tensor{}; }

template <typename T>
std::vector<T> values_of(const engine::Value& value) {
  std::vector<T> out(value.tensor.numel());
  if (!out.empty()) std::memcpy(out.data(), value.tensor.bytes(), out.size() * sizeof(T));
  return out;
}

}  // namespace mhub::test
