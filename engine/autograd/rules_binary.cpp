// Backward rules of the binary family: the broadcasting Add / Sub / Mul / Div / Pow / Sum / Where
// (gradients summed back to each input's shape by sum_to) and variadic Max / Min (ties share the
// gradient).
#include "common/error.h"
#include "engine/autograd/rule_support.h"

namespace mhub::autograd {
std::string sum_to(Builder& b, const std::string& grad, const std::vector<int64_t>& grad_shape, const std::vector<int64_t>& target) {
  if (grad_shape == target) return grad;
  std::vector<int64_t> axes;
  const size_t lead = grad_shape.size() - target.size();
  for (size_t i = 0; i < grad_shape.size(); ++i)
    if (i < lead || (target[i - lead] == 1 && grad_shape[i] != 1)) axes.push_back(static_cast<int64_t>(i));
  const std::string summed = axes.empty() ? grad : b.reduce_sum(grad, axes, true);
  return b.reshape(summed, target);
}

namespace {

void binary_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const std::string& dy = c.output_grads[0];
  const auto& ys = b.shape(n.outputs[0]);
  std::string ga, gb;
  if (n.op_type == "Add") ga = gb = dy;
  else if (n.op_type == "Sub") ga = dy, gb = c.wants[1] ? b.op("Neg", {dy}) : "";
  else if (n.op_type == "Mul") {
    if (c.wants[0]) ga = b.op("Mul", {dy, n.inputs[1]});
    if (c.wants[1]) gb = b.op("Mul", {dy, n.inputs[0]});
  } else {  // Div: y = a / b; da = dy / b; db = -dy * y / b
    if (c.wants[0]) ga = b.op("Div", {dy, n.inputs[1]});
    if (c.wants[1]) gb = b.op("Neg", {b.op("Div", {b.op("Mul", {dy, n.outputs[0]}), n.inputs[1]})});
  }
  c.input_grads.assign(2, "");
  if (c.wants[0]) c.input_grads[0] = sum_to(b, ga, ys, b.shape(n.inputs[0]));
  if (c.wants[1]) c.input_grads[1] = sum_to(b, gb, ys, b.shape(n.inputs[1]));
}

// y = a^e: da = dy * e * a^(e-1); de = dy * y * log(a) (summed to e's shape).
void pow_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const auto& ys = b.shape(n.outputs[0]);
  c.input_grads.assign(2, "");
  if (c.wants[0]) {
    const std::string lowered = b.op("Pow", {n.inputs[0], b.op("Sub", {n.inputs[1], b.const_f32(1)})});
    c.input_grads[0] = sum_to(b, b.op("Mul", {c.output_grads[0], b.op("Mul", {n.inputs[1], lowered})}), ys, b.shape(n.inputs[0]));
  }
  if (c.wants[1]) {
    const std::string g = b.op("Mul", {c.output_grads[0], b.op("Mul", {n.outputs[0], b.op("Log", {n.inputs[0]})})});
    c.input_grads[1] = sum_to(b, g, ys, b.shape(n.inputs[1]));
  }
}

void sum_rule(Builder& b, RuleCall& c) {  // variadic, broadcasting
  const auto& n = c.node;
  const auto& ys = b.shape(n.outputs[0]);
  c.input_grads.assign(n.inputs.size(), "");
  for (size_t i = 0; i < n.inputs.size(); ++i)
    if (c.wants[i]) c.input_grads[i] = sum_to(b, c.output_grads[0], ys, b.shape(n.inputs[i]));
}

void where_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const auto& ys = b.shape(n.outputs[0]);
  const std::string zero = b.const_f32(0);
  c.input_grads.assign(3, "");
  if (c.wants[1]) c.input_grads[1] = sum_to(b, b.op("Where", {n.inputs[0], c.output_grads[0], zero}), ys, b.shape(n.inputs[1]));
  if (c.wants[2]) c.input_grads[2] = sum_to(b, b.op("Where", {n.inputs[0], zero, c.output_grads[0]}), ys, b.shape(n.inputs[2]));
}

// Variadic, broadcasting Max / Min: dy goes to every input equal to the result, shared equally
// among ties (for two inputs this is torch.maximum / minimum's half each).
void extremum_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const std::string& y = n.outputs[0];
  const auto& ys = b.shape(y);
  c.input_grads.assign(n.inputs.size(), "");
  std::vector<std::string> hits;
  for (const auto& in : n.inputs) hits.push_back(b.op("Cast", {b.op("Equal", {in, y})}, {int_attr("to", static_cast<int64_t>(ir::DataType::float32))}));
  std::string share = c.output_grads[0];
  if (n.inputs.size() > 1) {
    const std::string ties = hits.size() == 1 ? hits[0] : b.op("Sum", hits);
    share = b.op("Div", {share, ties});
  }
  for (size_t i = 0; i < n.inputs.size(); ++i)
    if (c.wants[i]) c.input_grads[i] = sum_to(b, b.op("Mul", {share, hits[i]}), ys, b.shape(n.inputs[i]));
}

}  // namespace

void add_binary_rules(std::map<std::string, Rule>& rules) {
  rules["Add"] = binary_rule;
  rules["Sub"] = binary_rule;
  rules["Mul"] = binary_rule;
  rules["Div"] = binary_rule;
  rules["Pow"] = pow_rule;
  rules["Sum"] = sum_rule;
  rules["Where"] = where_rule;
  rules["Max"] = extremum_rule;
  rules["Min"] = extremum_rule;
}

}  // namespace mhub::autograd
