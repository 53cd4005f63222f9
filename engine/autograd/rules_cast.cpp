// Backward rule of the cast family: Cast between float types (the gradient cast back).
#include "common/error.h"
#include "engine/autograd/rule_support.h"

namespace mhub::autograd {
namespace {

bool is_float_type(int64_t onnx_type) {
  const auto t = static_cast<ir::DataType>(onnx_type);
  return t == ir::DataType::float32 || t == ir::DataType::float16 || t == ir::DataType::bfloat16 || t == ir::DataType::float64;
}

// Between float types the gradient is cast back to the input's type (CastLike, opset 15+; before
// that to float32, the type the trainer trains). Casts to integers or bool pass no gradient.
void cast_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(n.inputs.size(), "");
  if (!c.wants[0] || !is_float_type(n.attr_int("to", 0))) return;
  if (b.opset() >= 15) c.input_grads[0] = b.op("CastLike", {c.output_grads[0], n.inputs[0]});
  else c.input_grads[0] = b.op("Cast", {c.output_grads[0]}, {int_attr("to", static_cast<int64_t>(ir::DataType::float32))});
}

}  // namespace

void add_cast_rules(std::map<std::string, Rule>& rules) {
  rules["Cast"] = cast_rule;
}

}  // namespace mhub::autograd
