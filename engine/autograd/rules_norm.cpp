// Backward rule for InstanceNormalization: y = scale * xhat + B with xhat normalised per
// (sample, channel) over the spatial axes; xhat is recomputed here.
//   dscale = sum over batch and space of dy * xhat, dB = sum of dy,
//   dx = scale / std * (dy - mean(dy) - xhat * mean(dy * xhat)), means over the spatial axes.
#include "engine/autograd/rule_support.h"

namespace mhub::autograd {
namespace {

void instance_norm_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const auto& xs = b.shape(n.inputs[0]);
  if (xs.size() < 3) no_rule(n, "an input of rank < 3");
  const float eps = n.attr_float("epsilon", 1e-5f);
  std::vector<int64_t> space, batch_and_space = {0}, channel_dims = {1, xs[1]};
  for (size_t i = 2; i < xs.size(); ++i) {
    space.push_back(static_cast<int64_t>(i));
    batch_and_space.push_back(static_cast<int64_t>(i));
    channel_dims.push_back(1);
  }
  const std::string& x = n.inputs[0];
  const std::string& dy = c.output_grads[0];
  const std::string centred = b.op("Sub", {x, b.reduce_mean(x, space, true)});
  const std::string var = b.reduce_mean(b.op("Mul", {centred, centred}), space, true);
  const std::string std_dev = b.op("Sqrt", {b.op("Add", {var, b.const_f32(eps)})});
  const std::string xhat = b.op("Div", {centred, std_dev});
  c.input_grads.assign(n.inputs.size(), "");
  const std::string dy_xhat = b.op("Mul", {dy, xhat});
  if (c.wants[1]) c.input_grads[1] = b.reduce_sum(dy_xhat, batch_and_space, false);
  if (c.wants[2]) c.input_grads[2] = b.reduce_sum(dy, batch_and_space, false);
  if (c.wants[0]) {
    const std::string centred_dy = b.op("Sub", {b.op("Sub", {dy, b.reduce_mean(dy, space, true)}),
                                                b.op("Mul", {xhat, b.reduce_mean(dy_xhat, space, true)})});
    const std::string scale = b.reshape(n.inputs[1], channel_dims);
    c.input_grads[0] = b.op("Mul", {centred_dy, b.op("Div", {scale, std_dev})});
  }
}

}  // namespace

void add_norm_rules(std::map<std::string, Rule>& rules) { rules["InstanceNormalization"] = instance_norm_rule; }

}  // namespace mhub::autograd
