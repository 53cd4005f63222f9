// Backward rules of the shape family: Identity, Flatten / Reshape / Squeeze / Unsqueeze (the
// gradient reshaped like the input), Expand (summed back).
#include "common/error.h"
#include "engine/autograd/rule_support.h"

namespace mhub::autograd {
namespace {

void identity_rule(Builder& b, RuleCall& c) {
  c.input_grads.assign(c.node.inputs.size(), "");
  if (c.wants[0]) c.input_grads[0] = c.output_grads[0];
}

void reshape_like_input(Builder& b, RuleCall& c) {
  c.input_grads.assign(c.node.inputs.size(), "");
  if (c.wants[0]) c.input_grads[0] = b.reshape(c.output_grads[0], b.shape(c.node.inputs[0]));
}

void expand_rule(Builder& b, RuleCall& c) {
  c.input_grads.assign(c.node.inputs.size(), "");
  if (c.wants[0]) c.input_grads[0] = sum_to(b, c.output_grads[0], b.shape(c.node.outputs[0]), b.shape(c.node.inputs[0]));
}

}  // namespace

void add_shape_rules(std::map<std::string, Rule>& rules) {
  rules["Identity"] = identity_rule;
  rules["Flatten"] = reshape_like_input;
  rules["Reshape"] = reshape_like_input;
  rules["Squeeze"] = reshape_like_input;
  rules["Unsqueeze"] = reshape_like_input;
  rules["Expand"] = expand_rule;
}

}  // namespace mhub::autograd
