// Runs one ONNX node through a real Session, for the checks an op spec (op_spec.h) cannot
// express (storage sharing, sessions kept across runs): inputs are bound to graph inputs "in0",
// "in1", ...; outputs come back in order.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include "common/error.h"
#include "engine/core/session.h"
#include "engine/devices.h"
#include "tests/ops/spec_runner.h"  // spec_model; the tensor builders (f32, i64, ...) of op_spec.h

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

// Inputs with dtype undefined are passed as absent (""). The model is an op spec's
// (spec_runner.h), with the node named `node_name`.
inline std::vector<engine::Value> run_op(const OpCase& c, const std::vector<ir::Tensor>& inputs, bool allow_fast = true) {
  OpSpec spec{.name = c.node_name, .op = c.op, .attributes = c.attributes, .outputs = c.outputs, .opset = c.opset, .domain = c.domain};
  std::vector<std::pair<std::string, engine::Value>> feeds;
  for (size_t i = 0; i < inputs.size(); ++i) {
    spec.inputs.push_back({inputs[i]});
    if (inputs[i].dtype != ir::DataType::undefined) feeds.emplace_back("in" + std::to_string(i), engine::Value::of(inputs[i]));
  }
  ir::Model model = spec_model(spec);
  model.graph.nodes[0].name = c.node_name;
  engine::SessionOptions options;
  options.threads = c.threads;
  options.allow_fast = allow_fast;
  engine::Session session(model, engine::host_backend(), options);
  return session.run(feeds);
}

template <typename T>
std::vector<T> values_of(const engine::Value& value) {
  std::vector<T> out(value.tensor.numel());
  if (!out.empty()) std::memcpy(out.data(), value.tensor.bytes(), out.size() * sizeof(T));
  return out;
}

}  // namespace mhub::test
