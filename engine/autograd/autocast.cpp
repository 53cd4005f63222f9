#include "engine/autograd/autocast.h"

#include <map>
#include <set>

#include "common/error.h"

namespace mhub::autograd {

namespace {

bool computes_low(const ir::Node& node) {
  if (!node.domain.empty()) return false;
  switch (node.op) {
    case ir::OpKind::Conv:
    case ir::OpKind::ConvTranspose:
    case ir::OpKind::Gemm:
    case ir::OpKind::MatMul:
      return true;
    default:
      return false;
  }
}

ir::Node cast_node(const std::string& from, const std::string& to, ir::DataType dtype) {
  ir::Node cast;
  cast.op_type = "Cast";
  cast.op = ir::OpKind::Cast;
  cast.name = "autocast/" + to;
  cast.inputs = {from};
  cast.outputs = {to};
  cast.attributes.push_back(ir::int_attr("to", static_cast<int64_t>(dtype)));
  return cast;
}

}  // namespace

size_t autocast(ir::Model& model, ir::DataType low) {
  if (low != ir::DataType::bfloat16 && low != ir::DataType::float16)
    throw_error(ErrorCategory::usage, "autocast: the low precision must be bfloat16 or float16");
  ir::Graph& graph = model.graph;
  // Only float32 values are cast: integer initializers (none of these ops take one) and values
  // of other types are left as they are.
  std::set<std::string> non_float;
  for (const ir::Tensor& t : graph.initializers)
    if (t.dtype != ir::DataType::float32) non_float.insert(t.name);
  for (const ir::ValueInfo& input : graph.inputs)
    if (input.type && input.type->has_elem_type && input.type->dtype() != ir::DataType::float32)
      non_float.insert(input.name);
  const std::string suffix = low == ir::DataType::bfloat16 ? "/bf16" : "/fp16";
  std::map<std::string, std::string> low_copy;  // float32 value -> its Cast to `low`
  std::vector<ir::Node> rewritten;
  size_t count = 0;
  for (ir::Node& node : graph.nodes) {
    if (!computes_low(node)) {
      rewritten.push_back(std::move(node));
      continue;
    }
    bool all_float = true;
    for (const std::string& input : node.inputs)
      if (!input.empty() && non_float.count(input)) all_float = false;
    if (!all_float || node.outputs.size() != 1) {
      rewritten.push_back(std::move(node));
      continue;
    }
    for (std::string& input : node.inputs) {
      if (input.empty()) continue;
      auto [it, added] = low_copy.emplace(input, input + suffix);
      if (added) rewritten.push_back(cast_node(input, it->second, low));
      input = it->second;
    }
    const std::string output = node.outputs[0];
    node.outputs[0] = output + "/autocast";
    const std::string low_output = node.outputs[0];
    rewritten.push_back(std::move(node));
    rewritten.push_back(cast_node(low_output, output, ir::DataType::float32));
    ++count;
  }
  graph.nodes = std::move(rewritten);
  graph.sort_topologically();
  return count;
}

}  // namespace mhub::autograd
