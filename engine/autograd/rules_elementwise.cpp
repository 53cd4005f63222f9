// Backward rules for elementwise ops: Relu, Sigmoid, Tanh, Erf, Neg, Exp, Log, Sqrt, Identity,
// and the broadcasting Add / Sub / Mul / Div / Pow / Sum (gradients summed back to each input's
// shape).
#include "engine/autograd/rules.h"

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

void relu_rule(Builder& b, RuleCall& c) {
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  if (b.internal_ops()) {
    c.input_grads[0] = b.internal_node("ReluGrad", {c.output_grads[0], c.node.outputs[0]}, {}, {true})[0];
    return;
  }
  const std::string zero = b.const_f32(0);
  c.input_grads[0] = b.op("Where", {b.op("Greater", {c.node.outputs[0], zero}), c.output_grads[0], zero});
}

void sigmoid_rule(Builder& b, RuleCall& c) {  // dy * y * (1 - y)
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  const std::string& y = c.node.outputs[0];
  c.input_grads[0] = b.op("Mul", {c.output_grads[0], b.op("Mul", {y, b.op("Sub", {b.const_f32(1), y})})});
}

void tanh_rule(Builder& b, RuleCall& c) {  // dy * (1 - y^2)
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  const std::string& y = c.node.outputs[0];
  c.input_grads[0] = b.op("Mul", {c.output_grads[0], b.op("Sub", {b.const_f32(1), b.op("Mul", {y, y})})});
}

void erf_rule(Builder& b, RuleCall& c) {  // dy * 2/sqrt(pi) * exp(-x^2)
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  const std::string& x = c.node.inputs[0];
  const std::string slope = b.op("Exp", {b.op("Neg", {b.op("Mul", {x, x})})});
  c.input_grads[0] = b.op("Mul", {c.output_grads[0], b.op("Mul", {slope, b.const_f32(1.1283791670955126f)})});
}

void neg_rule(Builder& b, RuleCall& c) {
  c.input_grads.assign(1, "");
  if (c.wants[0]) c.input_grads[0] = b.op("Neg", {c.output_grads[0]});
}

void exp_rule(Builder& b, RuleCall& c) {  // dy * y
  c.input_grads.assign(1, "");
  if (c.wants[0]) c.input_grads[0] = b.op("Mul", {c.output_grads[0], c.node.outputs[0]});
}

void log_rule(Builder& b, RuleCall& c) {  // dy / x
  c.input_grads.assign(1, "");
  if (c.wants[0]) c.input_grads[0] = b.op("Div", {c.output_grads[0], c.node.inputs[0]});
}

void sqrt_rule(Builder& b, RuleCall& c) {  // dy / (2 y)
  c.input_grads.assign(1, "");
  if (c.wants[0]) c.input_grads[0] = b.op("Div", {c.output_grads[0], b.op("Mul", {c.node.outputs[0], b.const_f32(2)})});
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

void identity_rule(Builder& b, RuleCall& c) {
  c.input_grads.assign(c.node.inputs.size(), "");
  if (c.wants[0]) c.input_grads[0] = c.output_grads[0];
}

}  // namespace

void add_elementwise_rules(std::map<std::string, Rule>& rules) {
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) rules[op] = binary_rule;
  rules["Relu"] = relu_rule;
  rules["Sigmoid"] = sigmoid_rule;
  rules["Tanh"] = tanh_rule;
  rules["Identity"] = identity_rule;
  rules["Erf"] = erf_rule;
  rules["Neg"] = neg_rule;
  rules["Exp"] = exp_rule;
  rules["Log"] = log_rule;
  rules["Sqrt"] = sqrt_rule;
  rules["Pow"] = pow_rule;
  rules["Sum"] = sum_rule;
}

}  // namespace mhub::autograd
