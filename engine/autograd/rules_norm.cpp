// Backward rules of the norm family: BatchNormalization (training mode, lowered by
// training_graph.cpp), LayerNormalization, InstanceNormalization.
#include "common/error.h"
#include "engine/autograd/rule_support.h"

namespace mhub::autograd {
namespace {

// Training-mode BatchNormalization: BatchNormTraining + BatchNormGrad, or (standard ops only)
// lowered to xhat = (x - mean) / std; y = gamma*xhat + beta.
// dx = gamma/std * (dy - mean(dy) - xhat * mean(dy * xhat)), means over all axes but 1.
void batchnorm_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const std::string& dy = c.output_grads[0];
  const std::vector<std::string> grad_inputs = {dy, n.inputs[0], n.inputs[1], c.saved.count("mean") ? c.saved.at("mean") : "",
                                                c.saved.count("var") ? c.saved.at("var") : ""};
  const ir::Attribute epsilon = float_attr("epsilon", n.attr_float("epsilon", 1e-5f));
  // A fused Relu (training_forward.h): dY is the Relu output's gradient, masked by that output
  // (BatchNormGrad's input 8, after the optional synchronised-BatchNorm inputs 5-7).
  const std::string relu_output = c.saved.count("relu_output") ? c.saved.at("relu_output") : "";
  const auto with_sums = [&](const std::string& dscale_all, const std::string& dbias_all, const std::string& stats_all) {
    std::vector<std::string> inputs = grad_inputs;
    if (!dscale_all.empty() || !relu_output.empty()) inputs.insert(inputs.end(), {dscale_all, dbias_all, stats_all});
    if (!relu_output.empty()) inputs.push_back(relu_output);
    return inputs;
  };
  if (c.saved.count("stats_all")) {
    // Synchronised (torch's SyncBatchNorm backward): dScale and dBias are this rank's sums (the
    // parameter gradients, averaged across ranks with the others); dX needs them summed over
    // every rank, as the forward statistics were.
    const auto local = b.internal_node("BatchNormGrad", with_sums("", "", ""), {epsilon}, {false, true, true});
    c.input_grads.assign(n.inputs.size(), "");
    c.input_grads[1] = c.wants[1] ? local[1] : "";
    c.input_grads[2] = c.wants[2] ? local[2] : "";
    if (c.wants[0]) {
      const auto all = b.internal_node("AllReduce", {local[1], local[2]}, {}, {true, true});
      c.input_grads[0] =
          b.internal_node("BatchNormGrad", with_sums(all[0], all[1], c.saved.at("stats_all")), {epsilon}, {true, false, false})[0];
    }
    return;
  }
  if (c.saved.count("mean")) {  // lowered to BatchNormTraining: its gradient op
    c.input_grads = b.internal_node("BatchNormGrad", with_sums("", "", ""), {epsilon}, {c.wants[0], c.wants[1], c.wants[2]});
    c.input_grads.resize(n.inputs.size(), "");
    return;
  }
  const std::string xhat = c.saved.at("xhat"), std_dev = c.saved.at("std"), gamma = c.saved.at("gamma_b");
  const auto& xs = b.shape(n.inputs[0]);
  std::vector<int64_t> axes = {0};
  for (size_t i = 2; i < xs.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  c.input_grads.assign(n.inputs.size(), "");
  const std::string dy_xhat = b.op("Mul", {dy, xhat});
  if (c.wants[1]) c.input_grads[1] = b.reduce_sum(dy_xhat, axes, false);
  if (c.wants[2]) c.input_grads[2] = b.reduce_sum(dy, axes, false);
  if (c.wants[0]) {
    const std::string mean_dy = b.reduce_mean(dy, axes, true);
    const std::string mean_dy_xhat = b.reduce_mean(dy_xhat, axes, true);
    const std::string centred = b.op("Sub", {b.op("Sub", {dy, mean_dy}), b.op("Mul", {xhat, mean_dy_xhat})});
    c.input_grads[0] = b.op("Mul", {centred, b.op("Div", {gamma, std_dev})});
  }
}

// y = xhat * gamma + beta over the axes from `axis` on; xhat recomputed here.
void layernorm_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const auto& xs = b.shape(n.inputs[0]);
  const int64_t axis = engine::ops::wrap_axis(n.attr_int("axis", -1), xs.size());
  const float eps = n.attr_float("epsilon", 1e-5f);
  std::vector<int64_t> norm_axes, lead_axes;
  for (int64_t i = 0; i < static_cast<int64_t>(xs.size()); ++i) (i < axis ? lead_axes : norm_axes).push_back(i);
  const std::string& x = n.inputs[0];
  const std::string& dy = c.output_grads[0];
  const std::string mean = b.reduce_mean(x, norm_axes, true);
  const std::string centred = b.op("Sub", {x, mean});
  const std::string var = b.reduce_mean(b.op("Mul", {centred, centred}), norm_axes, true);
  const std::string std_dev = b.op("Sqrt", {b.op("Add", {var, b.const_f32(eps)})});
  const std::string xhat = b.op("Div", {centred, std_dev});
  c.input_grads.assign(n.inputs.size(), "");
  auto sum_lead = [&](const std::string& v, const std::string& param) {
    const std::string s = lead_axes.empty() ? v : b.reduce_sum(v, lead_axes, false);
    return b.reshape(s, b.shape(param));
  };
  if (c.wants[1]) c.input_grads[1] = sum_lead(b.op("Mul", {dy, xhat}), n.inputs[1]);
  if (n.inputs.size() > 2 && !n.inputs[2].empty() && c.wants[2]) c.input_grads[2] = sum_lead(dy, n.inputs[2]);
  if (c.wants[0]) {
    const std::string g = b.op("Mul", {dy, n.inputs[1]});
    const std::string mean_g = b.reduce_mean(g, norm_axes, true);
    const std::string mean_g_xhat = b.reduce_mean(b.op("Mul", {g, xhat}), norm_axes, true);
    const std::string centred_g = b.op("Sub", {b.op("Sub", {g, mean_g}), b.op("Mul", {xhat, mean_g_xhat})});
    c.input_grads[0] = b.op("Div", {centred_g, std_dev});
  }
}

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

void add_norm_rules(std::map<std::string, Rule>& rules) {
  rules["BatchNormalization"] = batchnorm_rule;
  rules["LayerNormalization"] = layernorm_rule;
  rules["InstanceNormalization"] = instance_norm_rule;
}

}  // namespace mhub::autograd
