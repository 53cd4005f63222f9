// Tiny models built in code for tests: y = x + w0 + w1 + ... with float initializers.
#pragma once

#include "engine/ir/graph.h"
#include "engine/ir/ops.h"

namespace mhub::test {

// A node of the default domain with its op resolved, named after its (single) output.
inline ir::Node make_node(const std::string& type, std::vector<std::string> in, const std::string& out,
                          std::vector<ir::Attribute> attrs = {}) {
  ir::Node n;
  n.op_type = type;
  n.op = ir::lookup_op("", type);
  n.name = out + "_node";
  n.inputs = std::move(in);
  n.outputs = {out};
  n.attributes = std::move(attrs);
  return n;
}

inline ir::ValueInfo float_port(const std::string& name, int64_t length) {
  ir::ValueInfo info;
  info.name = name;
  info.type = ir::Type::tensor(ir::DataType::float32, ir::Shape{{ir::Dim::of(length)}});
  return info;
}

// A tensor port of `dtype` with fixed `dims`.
inline ir::ValueInfo tensor_port(const std::string& name, ir::DataType dtype, const std::vector<int64_t>& dims) {
  ir::ValueInfo info;
  info.name = name;
  ir::Shape shape;
  for (int64_t d : dims) shape.dims.push_back(ir::Dim::of(d));
  info.type = ir::Type::tensor(dtype, shape);
  return info;
}

// `weights` initializers of `length` floats each, weight k filled with k + i * 1e-3.
inline ir::Model chain_of_adds(int weights, int64_t length) {
  ir::Model model;
  model.ir_version = 8;
  model.opset_imports = {{"", 17}};
  model.producer_name = "mhub-tests";
  model.graph.name = "chain";
  model.graph.inputs = {float_port("x", length)};
  model.graph.outputs = {float_port("y", length)};
  std::string previous = "x";
  for (int k = 0; k < weights; ++k) {
    std::string weight = "w" + std::to_string(k);
    ir::Tensor tensor = ir::Tensor::zeros(ir::DataType::float32, {length}, weight);
    float* data = reinterpret_cast<float*>(tensor.storage->mutable_data());
    for (int64_t i = 0; i < length; ++i) data[i] = static_cast<float>(k) + static_cast<float>(i % 1000) * 1e-3f;
    model.graph.initializers.push_back(std::move(tensor));
    ir::Node add;
    add.op_type = "Add";
    add.op = ir::OpKind::Add;
    add.inputs = {previous, weight};
    std::string out = k + 1 == weights ? "y" : "sum" + std::to_string(k);
    add.outputs = {out};
    add.name = "add" + std::to_string(k);
    model.graph.nodes.push_back(std::move(add));
    previous = out;
  }
  return model;
}

}  // namespace mhub::test
