// Helpers for emitting ONNX nodes into a graph: fresh value names, attributes, constants, and
// the static shapes shape inference found. Used by the backward rules (rules_*.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/ir/graph.h"

namespace mhub::autograd {

using ir::float_attr;
using ir::int_attr;
using ir::ints_attr;
using ir::string_attr;

// A float32 tensor value of static `dims` (a tensor without shape when nullopt): the graph
// inputs and outputs the training graph adds.
ir::ValueInfo float_value_info(const std::string& name, std::optional<std::vector<int64_t>> dims);

class Builder {
 public:
  // `graph` receives the nodes; `shapes` maps value names to static dims; `opset` is the
  // model's default-domain opset (ops whose signature changed are emitted for it).
  Builder(ir::Graph& graph, std::map<std::string, std::vector<int64_t>> shapes, int64_t opset);

  std::string fresh(const std::string& hint);
  // Appends a node with `outputs` fresh names (returned) of op `op_type`.
  std::vector<std::string> node(const std::string& op_type, std::vector<std::string> inputs,
                                std::vector<ir::Attribute> attributes = {}, int outputs = 1);
  std::string op(const std::string& op_type, std::vector<std::string> inputs, std::vector<ir::Attribute> attributes = {}) {
    return node(op_type, std::move(inputs), std::move(attributes))[0];
  }
  // A node of one of mhub's internal ops (engine/ir/internal_ops.def, domain
  // ir::kInternalDomain); `outputs` names may be "" for outputs nobody reads (no fresh name).
  std::vector<std::string> internal_node(const std::string& op_type, std::vector<std::string> inputs,
                                         std::vector<ir::Attribute> attributes, std::vector<bool> outputs);
  std::string const_i64(const std::vector<int64_t>& values);
  std::string const_f32(float value);  // a scalar
  // Reductions whose axes moved from attribute to input across opsets.
  std::string reduce_sum(const std::string& x, const std::vector<int64_t>& axes, bool keepdims);
  std::string reduce_mean(const std::string& x, const std::vector<int64_t>& axes, bool keepdims);
  std::string reshape(const std::string& x, const std::vector<int64_t>& dims) { return op("Reshape", {x, const_i64(dims)}); }

  // Static dims of a value; throws mhub::Error (unsupported) when shape inference left them open.
  const std::vector<int64_t>& shape(const std::string& value) const;
  void set_shape(const std::string& value, std::vector<int64_t> dims) { shapes_[value] = std::move(dims); }
  int64_t opset() const { return opset_; }
  // Whether rules may emit mhub's internal *Grad ops (else standard ONNX ops only).
  bool internal_ops() const { return internal_ops_; }
  void set_internal_ops(bool on) { internal_ops_ = on; }
  ir::Graph& graph() { return graph_; }

 private:
  ir::Graph& graph_;
  std::map<std::string, std::vector<int64_t>> shapes_;
  int64_t opset_;
  int counter_ = 0;
  bool internal_ops_ = false;
};

}  // namespace mhub::autograd
