// Backward rules of the elementwise family (unary math): Relu, Sigmoid, Tanh, Erf, Neg, Exp, Log,
// Sqrt, Abs, Clip.
#include "common/error.h"
#include "engine/autograd/rule_support.h"

namespace mhub::autograd {
namespace {

// The common shape of a one-input activation's rule: dx = dy * slope(x, y).
template <typename Slope>
void activation(Builder& b, RuleCall& c, Slope slope) {
  c.input_grads.assign(c.node.inputs.size(), "");
  if (!c.wants[0]) return;
  c.input_grads[0] = b.op("Mul", {c.output_grads[0], slope(c.node.inputs[0], c.node.outputs[0])});
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

// y = |x|: slope sign(x) (0 at 0, as torch).
void abs_rule(Builder& b, RuleCall& c) {
  activation(b, c, [&](const std::string& x, const std::string&) { return b.op("Sign", {x}); });
}

// Gradient passes where min <= x <= max (as torch.clamp's backward).
void clip_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(n.inputs.size(), "");
  if (!c.wants[0]) return;
  if (b.opset() < 11) throw Error(ErrorCategory::unsupported, "training: Clip before opset 11 has no backward rule");
  const std::string& x = n.inputs[0];
  if (b.internal_ops()) {
    // Constant float bounds (Relu6 and friends): one ClipGrad with the bounds as attributes.
    std::vector<ir::Attribute> bounds;
    bool constant = true;
    for (size_t i = 1; i < 3 && i < n.inputs.size(); ++i) {
      if (n.inputs[i].empty()) continue;
      const ir::Tensor* t = constant_tensor(b, n.inputs[i]);
      if (!t || t->dtype != ir::DataType::float32 || t->numel() != 1) {
        constant = false;
        break;
      }
      bounds.push_back(float_attr(i == 1 ? "min" : "max", t->data<float>()[0]));
    }
    if (constant) {
      c.input_grads[0] = b.internal_node("ClipGrad", {c.output_grads[0], x}, bounds, {true})[0];
      return;
    }
  }
  std::string inside;
  if (n.inputs.size() > 1 && !n.inputs[1].empty()) inside = b.op("GreaterOrEqual", {x, n.inputs[1]});
  if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
    const std::string below = b.op("LessOrEqual", {x, n.inputs[2]});
    inside = inside.empty() ? below : b.op("And", {inside, below});
  }
  c.input_grads[0] = inside.empty() ? c.output_grads[0] : b.op("Where", {inside, c.output_grads[0], b.const_f32(0)});
}

}  // namespace

void add_elementwise_rules(std::map<std::string, Rule>& rules) {
  rules["Relu"] = relu_rule;
  rules["Sigmoid"] = sigmoid_rule;
  rules["Tanh"] = tanh_rule;
  rules["Erf"] = erf_rule;
  rules["Neg"] = neg_rule;
  rules["Exp"] = exp_rule;
  rules["Log"] = log_rule;
  rules["Sqrt"] = sqrt_rule;
  rules["Abs"] = abs_rule;
  rules["Clip"] = clip_rule;
}

}  // namespace mhub::autograd
