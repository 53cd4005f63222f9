#include "engine/autograd/builder.h"

#include "common/error.h"
#include "engine/ir/ops.h"

namespace mhub::autograd {

ir::ValueInfo float_value_info(const std::string& name, std::optional<std::vector<int64_t>> dims) {
  ir::ValueInfo info;
  info.name = name;
  std::optional<ir::Shape> shape;
  if (dims) {
    shape = ir::Shape{};
    for (auto d : *dims) shape->dims.push_back(ir::Dim::of(d));
  }
  info.type = ir::Type::tensor(ir::DataType::float32, shape);
  return info;
}

Builder::Builder(ir::Graph& graph, std::map<std::string, std::vector<int64_t>> shapes, int64_t opset)
    : graph_(graph), shapes_(std::move(shapes)), opset_(opset) {}

std::string Builder::fresh(const std::string& hint) { return "mhub_train/" + hint + "_" + std::to_string(counter_++); }

std::vector<std::string> Builder::node(const std::string& op_type, std::vector<std::string> inputs,
                                       std::vector<ir::Attribute> attributes, int outputs) {
  ir::Node n;
  n.op_type = op_type;
  n.op = ir::lookup_op("", op_type);
  n.name = fresh(op_type);
  n.inputs = std::move(inputs);
  n.attributes = std::move(attributes);
  for (int i = 0; i < outputs; ++i) n.outputs.push_back(fresh(op_type + "_out"));
  graph_.nodes.push_back(n);
  return n.outputs;
}

std::vector<std::string> Builder::internal_node(const std::string& op_type, std::vector<std::string> inputs,
                                                std::vector<ir::Attribute> attributes, std::vector<bool> outputs) {
  ir::Node n;
  n.op_type = op_type;
  n.domain = std::string(ir::kInternalDomain);
  n.op = ir::lookup_op(n.domain, op_type);
  if (n.op == ir::OpKind::opaque) throw Error(ErrorCategory::internal, "autograd: no internal op " + op_type);
  n.name = fresh(op_type);
  n.inputs = std::move(inputs);
  n.attributes = std::move(attributes);
  for (bool wanted : outputs) n.outputs.push_back(wanted ? fresh(op_type + "_out") : "");
  graph_.nodes.push_back(n);
  return n.outputs;
}

std::string Builder::const_i64(const std::vector<int64_t>& values) {
  const std::string name = fresh("const");
  graph_.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::int64, {static_cast<int64_t>(values.size())},
                                                       values.data(), values.size() * 8, name));
  return name;
}

std::string Builder::const_f32(float value) {
  const std::string name = fresh("const");
  graph_.initializers.push_back(ir::Tensor::from_bytes(ir::DataType::float32, {}, &value, 4, name));
  return name;
}

std::string Builder::reduce_sum(const std::string& x, const std::vector<int64_t>& axes, bool keepdims) {
  return op("ReduceSum", {x, const_i64(axes)}, {int_attr("keepdims", keepdims)});
}

std::string Builder::reduce_mean(const std::string& x, const std::vector<int64_t>& axes, bool keepdims) {
  if (opset_ >= 18) return op("ReduceMean", {x, const_i64(axes)}, {int_attr("keepdims", keepdims)});
  return op("ReduceMean", {x}, {ints_attr("axes", axes), int_attr("keepdims", keepdims)});
}

const std::vector<int64_t>& Builder::shape(const std::string& value) const {
  auto it = shapes_.find(value);
  if (it == shapes_.end())
    throw Error(ErrorCategory::unsupported, "training graph: the shape of '" + value +
                                                "' is not known statically; export the model with fixed input shapes");
  return it->second;
}

}  // namespace mhub::autograd
