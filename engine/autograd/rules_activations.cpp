// Backward rules of the activations family: Gelu (opset 20, both `approximate` modes), HardSigmoid,
// HardSwish, Elu, Selu, Celu, Softplus, Softsign, Mish, Swish, ThresholdedRelu, Shrink, PRelu,
// LeakyRelu. Each forward op is y = f(x); the rule writes dx = dy * f'(x) in standard ONNX ops.
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

std::string where(Builder& b, const std::string& cond, const std::string& yes, const std::string& no) {
  return b.op("Where", {cond, yes, no});
}

std::string sigmoid_of(Builder& b, const std::string& v) { return b.op("Sigmoid", {v}); }

// Gelu, approximate="none": y = x/2 (1 + erf(x/sqrt2)); f' = (1 + erf(x/sqrt2))/2 + x phi(x).
// approximate="tanh": u = sqrt(2/pi)(x + 0.044715 x^3), y = x/2 (1 + tanh u);
// f' = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) sqrt(2/pi)(1 + 3 * 0.044715 x^2).
void gelu_rule(Builder& b, RuleCall& c) {
  const std::string mode = c.node.attr_string("approximate", "none");
  if (mode != "none" && mode != "tanh") no_rule(c.node, "approximate='" + mode + "'");
  activation(b, c, [&](const std::string& x, const std::string&) {
    const std::string half = b.const_f32(0.5f);
    if (mode == "none") {
      const std::string cdf = b.op("Mul", {half, b.op("Add", {b.const_f32(1), b.op("Erf", {b.op("Mul", {x, b.const_f32(0.70710678118654752f)})})})});
      const std::string pdf = b.op("Mul", {b.op("Exp", {b.op("Mul", {b.op("Mul", {x, x}), b.const_f32(-0.5f)})}), b.const_f32(0.3989422804014327f)});
      return b.op("Add", {cdf, b.op("Mul", {x, pdf})});
    }
    const float k = 0.7978845608028654f, a = 0.044715f;
    const std::string x2 = b.op("Mul", {x, x});
    const std::string u = b.op("Mul", {b.const_f32(k), b.op("Add", {x, b.op("Mul", {b.const_f32(a), b.op("Mul", {x2, x})})})});
    const std::string t = b.op("Tanh", {u});
    const std::string du = b.op("Mul", {b.const_f32(k), b.op("Add", {b.const_f32(1), b.op("Mul", {b.const_f32(3 * a), x2})})});
    const std::string sech2 = b.op("Sub", {b.const_f32(1), b.op("Mul", {t, t})});
    const std::string left = b.op("Mul", {half, b.op("Add", {b.const_f32(1), t})});
    const std::string right = b.op("Mul", {b.op("Mul", {half, x}), b.op("Mul", {sech2, du})});
    return b.op("Add", {left, right});
  });
}

// y = clip(alpha x + beta, 0, 1): slope alpha strictly inside (as torch: 0 at the kinks).
void hard_sigmoid_rule(Builder& b, RuleCall& c) {
  const float alpha = c.node.attr_float("alpha", 0.2f);
  activation(b, c, [&](const std::string&, const std::string& y) {
    const std::string inside = b.op("And", {b.op("Greater", {y, b.const_f32(0)}), b.op("Less", {y, b.const_f32(1)})});
    return where(b, inside, b.const_f32(alpha), b.const_f32(0));
  });
}

// y = x * clip(x/6 + 1/2, 0, 1): slope 0 below -3, x/3 + 1/2 on [-3, 3], 1 above (torch's).
void hard_swish_rule(Builder& b, RuleCall& c) {
  activation(b, c, [&](const std::string& x, const std::string&) {
    const std::string middle = b.op("Add", {b.op("Div", {x, b.const_f32(3)}), b.const_f32(0.5f)});
    const std::string upper = where(b, b.op("Greater", {x, b.const_f32(3)}), b.const_f32(1), middle);
    return where(b, b.op("Less", {x, b.const_f32(-3)}), b.const_f32(0), upper);
  });
}

// y = x (x > 0), alpha (e^x - 1) otherwise: slope 1, or y + alpha.
void elu_rule(Builder& b, RuleCall& c) {
  const float alpha = c.node.attr_float("alpha", 1.0f);
  activation(b, c, [&](const std::string& x, const std::string& y) {
    return where(b, b.op("Greater", {x, b.const_f32(0)}), b.const_f32(1), b.op("Add", {y, b.const_f32(alpha)}));
  });
}

// y = gamma x (x > 0), gamma alpha (e^x - 1) otherwise: slope gamma, or y + gamma alpha.
void selu_rule(Builder& b, RuleCall& c) {
  const float alpha = c.node.attr_float("alpha", 1.67326319217681884765625f);
  const float gamma = c.node.attr_float("gamma", 1.05070102214813232421875f);
  activation(b, c, [&](const std::string& x, const std::string& y) {
    return where(b, b.op("Greater", {x, b.const_f32(0)}), b.const_f32(gamma), b.op("Add", {y, b.const_f32(gamma * alpha)}));
  });
}

// y = max(0, x) + min(0, alpha (e^(x/alpha) - 1)): slope 1, or e^(x/alpha).
void celu_rule(Builder& b, RuleCall& c) {
  const float alpha = c.node.attr_float("alpha", 1.0f);
  activation(b, c, [&](const std::string& x, const std::string&) {
    const std::string curve = b.op("Exp", {b.op("Div", {x, b.const_f32(alpha)})});
    return where(b, b.op("Greater", {x, b.const_f32(0)}), b.const_f32(1), curve);
  });
}

// y = log(1 + e^x): slope sigmoid(x).
void softplus_rule(Builder& b, RuleCall& c) {
  activation(b, c, [&](const std::string& x, const std::string&) { return sigmoid_of(b, x); });
}

// y = x / (1 + |x|): slope 1 / (1 + |x|)^2.
void softsign_rule(Builder& b, RuleCall& c) {
  activation(b, c, [&](const std::string& x, const std::string&) {
    const std::string d = b.op("Add", {b.const_f32(1), b.op("Abs", {x})});
    return b.op("Reciprocal", {b.op("Mul", {d, d})});
  });
}

// y = x tanh(softplus(x)): slope tanh(sp) + x sigmoid(x) (1 - tanh^2(sp)).
void mish_rule(Builder& b, RuleCall& c) {
  activation(b, c, [&](const std::string& x, const std::string&) {
    const std::string t = b.op("Tanh", {b.op("Softplus", {x})});
    const std::string sech2 = b.op("Sub", {b.const_f32(1), b.op("Mul", {t, t})});
    return b.op("Add", {t, b.op("Mul", {b.op("Mul", {x, sigmoid_of(b, x)}), sech2})});
  });
}

// y = x sigmoid(alpha x): slope s + alpha x s (1 - s).
void swish_rule(Builder& b, RuleCall& c) {
  const float alpha = c.node.attr_float("alpha", 1.0f);
  activation(b, c, [&](const std::string& x, const std::string&) {
    const std::string s = sigmoid_of(b, b.op("Mul", {x, b.const_f32(alpha)}));
    const std::string ds = b.op("Mul", {s, b.op("Sub", {b.const_f32(1), s})});
    return b.op("Add", {s, b.op("Mul", {b.op("Mul", {x, b.const_f32(alpha)}), ds})});
  });
}

// y = x where x > alpha, else 0.
void thresholded_relu_rule(Builder& b, RuleCall& c) {
  const float alpha = c.node.attr_float("alpha", 1.0f);
  activation(b, c, [&](const std::string& x, const std::string&) {
    return where(b, b.op("Greater", {x, b.const_f32(alpha)}), b.const_f32(1), b.const_f32(0));
  });
}

// y = x + bias (x < -lambd), x - bias (x > lambd), 0 between: slope 1 outside [-lambd, lambd].
void shrink_rule(Builder& b, RuleCall& c) {
  const float lambd = c.node.attr_float("lambd", 0.5f);
  activation(b, c, [&](const std::string& x, const std::string&) {
    const std::string outside = b.op("Greater", {b.op("Abs", {x}), b.const_f32(lambd)});
    return where(b, outside, b.const_f32(1), b.const_f32(0));
  });
}

// y = x (x > 0), slope * x otherwise; slope broadcasts to x (unidirectionally).
void prelu_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const std::string& dy = c.output_grads[0];
  const std::string positive = b.op("Greater", {n.inputs[0], b.const_f32(0)});
  c.input_grads.assign(2, "");
  if (c.wants[0]) c.input_grads[0] = where(b, positive, dy, b.op("Mul", {dy, n.inputs[1]}));
  if (c.wants[1]) {
    const std::string g = where(b, positive, b.const_f32(0), b.op("Mul", {dy, n.inputs[0]}));
    c.input_grads[1] = sum_to(b, g, b.shape(n.outputs[0]), b.shape(n.inputs[1]));
  }
}

void leaky_relu_rule(Builder& b, RuleCall& c) {
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  const std::string& dy = c.output_grads[0];
  const std::string scaled = b.op("Mul", {dy, b.const_f32(c.node.attr_float("alpha", 0.01f))});
  c.input_grads[0] = b.op("Where", {b.op("Greater", {c.node.inputs[0], b.const_f32(0)}), dy, scaled});
}

}  // namespace

void add_activations_rules(std::map<std::string, Rule>& rules) {
  rules["Gelu"] = gelu_rule;
  rules["HardSigmoid"] = hard_sigmoid_rule;
  rules["HardSwish"] = hard_swish_rule;
  rules["Elu"] = elu_rule;
  rules["Selu"] = selu_rule;
  rules["Celu"] = celu_rule;
  rules["Softplus"] = softplus_rule;
  rules["Softsign"] = softsign_rule;
  rules["Mish"] = mish_rule;
  rules["Swish"] = swish_rule;
  rules["ThresholdedRelu"] = thresholded_relu_rule;
  rules["Shrink"] = shrink_rule;
  rules["PRelu"] = prelu_rule;
  rules["LeakyRelu"] = leaky_relu_rule;
}

}  // namespace mhub::autograd
