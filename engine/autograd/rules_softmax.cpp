// Backward rules of the softmax family: Softmax, LogSoftmax.
#include "common/error.h"
#include "engine/autograd/rule_support.h"

namespace mhub::autograd {
namespace {

void softmax_rule(Builder& b, RuleCall& c) {  // y * (dy - sum(dy * y))
  const auto& n = c.node;
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  if (b.opset() < 13) throw Error(ErrorCategory::unsupported, "training: Softmax before opset 13 (flattening semantics) has no backward rule");
  const int64_t axis = engine::ops::wrap_axis(n.attr_int("axis", -1), b.shape(n.inputs[0]).size());
  const std::string& y = n.outputs[0];
  const std::string& dy = c.output_grads[0];
  const std::string dot = b.reduce_sum(b.op("Mul", {dy, y}), {axis}, true);
  c.input_grads[0] = b.op("Mul", {y, b.op("Sub", {dy, dot})});
}

void log_softmax_rule(Builder& b, RuleCall& c) {  // dy - softmax * sum(dy)
  const auto& n = c.node;
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  if (b.opset() < 13) throw Error(ErrorCategory::unsupported, "training: LogSoftmax before opset 13 has no backward rule");
  const int64_t axis = engine::ops::wrap_axis(n.attr_int("axis", -1), b.shape(n.inputs[0]).size());
  const std::string total = b.reduce_sum(c.output_grads[0], {axis}, true);
  c.input_grads[0] = b.op("Sub", {c.output_grads[0], b.op("Mul", {b.op("Exp", {n.outputs[0]}), total})});
}

}  // namespace

void add_softmax_rules(std::map<std::string, Rule>& rules) {
  rules["Softmax"] = softmax_rule;
  rules["LogSoftmax"] = log_softmax_rule;
}

}  // namespace mhub::autograd
