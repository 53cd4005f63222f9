// Backward rules for the neural-net layers: Gemm, Conv, MaxPool, BatchNormalization (training
// mode, lowered to primitives by training_graph.cpp), Flatten, Reshape.
#include "common/error.h"
#include "engine/autograd/rules.h"

namespace mhub::autograd {
namespace {

[[noreturn]] void unsupported(const ir::Node& node, const std::string& what) {
  throw Error(ErrorCategory::unsupported, "training: " + node.op_type + " node '" + node.name + "': " + what +
                                              " has no backward rule yet; freeze the layers before it with --freeze");
}

// Y = alpha * A' B' + beta * C with A' = transA ? A^T : A, B' likewise.
void gemm_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const std::string& dy = c.output_grads[0];
  const float alpha = n.attr_float("alpha", 1), beta = n.attr_float("beta", 1);
  const int64_t ta = n.attr_int("transA", 0), tb = n.attr_int("transB", 0);
  const std::string &a = n.inputs[0], &bm = n.inputs[1];
  auto gemm = [&](const std::string& x, int64_t tx, const std::string& y, int64_t ty) {
    return b.op("Gemm", {x, y}, {int_attr("transA", tx), int_attr("transB", ty), float_attr("alpha", alpha)});
  };
  c.input_grads.assign(n.inputs.size(), "");
  if (c.wants[0]) c.input_grads[0] = ta ? gemm(bm, tb, dy, 1) : gemm(dy, 0, bm, !tb);
  if (c.wants[1]) c.input_grads[1] = tb ? gemm(dy, 1, a, ta) : gemm(a, !ta, dy, 0);
  if (n.inputs.size() > 2 && !n.inputs[2].empty() && c.wants[2]) {
    const auto& cshape = b.shape(n.inputs[2]);
    const auto& yshape = b.shape(n.outputs[0]);
    std::string g = dy;
    if (cshape.size() == 1) g = b.reduce_sum(dy, {0}, false);
    else if (cshape.size() == 2 && cshape[0] == 1 && yshape[0] != 1) g = b.reduce_sum(dy, {0}, true);
    if (cshape.size() == 2 && cshape[1] == 1 && yshape[1] != 1) g = b.reduce_sum(g, {1}, true);
    if (cshape.empty()) g = b.reduce_sum(dy, {0, 1}, false);
    c.input_grads[2] = beta == 1 ? g : b.op("Mul", {g, b.const_f32(beta)});
  }
}

void conv_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const int64_t group = n.attr_int("group", 1);
  if (n.attr_string("auto_pad", "NOTSET") != "NOTSET") unsupported(n, "auto_pad");
  const auto& xs = b.shape(n.inputs[0]);
  const auto& ws = b.shape(n.inputs[1]);
  const auto& ys = b.shape(n.outputs[0]);
  const size_t spatial = xs.size() - 2;
  auto strides = n.attr_ints("strides"), dilations = n.attr_ints("dilations"), pads = n.attr_ints("pads");
  if (strides.empty()) strides.assign(spatial, 1);
  if (dilations.empty()) dilations.assign(spatial, 1);
  if (pads.empty()) pads.assign(2 * spatial, 0);
  const std::string& dy = c.output_grads[0];
  c.input_grads.assign(n.inputs.size(), "");
  const bool wants_bias = n.inputs.size() > 2 && !n.inputs[2].empty() && c.wants[2];
  if (b.internal_ops()) {
    // The dedicated gradient ops carry the forward geometry and the shape they produce.
    std::vector<ir::Attribute> geometry = {ints_attr("strides", strides), ints_attr("dilations", dilations),
                                           ints_attr("pads", pads), int_attr("group", group),
                                           ints_attr("kernel_shape", std::vector<int64_t>(ws.begin() + 2, ws.end()))};
    if (c.wants[0]) {
      auto attrs = geometry;
      attrs.push_back(ints_attr("input_shape", xs));
      c.input_grads[0] = b.internal_node("ConvGradInput", {dy, n.inputs[1]}, attrs, {true})[0];
    }
    if (c.wants[1]) {
      auto attrs = geometry;
      attrs.push_back(ints_attr("weight_shape", ws));
      const auto grads = b.internal_node("ConvGradWeight", {n.inputs[0], dy}, attrs, {true, wants_bias});
      c.input_grads[1] = grads[0];
      if (wants_bias) c.input_grads[2] = grads[1];
      return;
    }
  }
  if (c.wants[0] && !b.internal_ops()) {
    // The transposed convolution maps dY back onto X; output_padding restores the rows the
    // forward stride skipped at the end.
    std::vector<int64_t> output_padding(spatial);
    for (size_t i = 0; i < spatial; ++i) {
      const int64_t covered = (ys[2 + i] - 1) * strides[i] - pads[i] - pads[spatial + i] + dilations[i] * (ws[2 + i] - 1) + 1;
      output_padding[i] = xs[2 + i] - covered;
    }
    c.input_grads[0] = b.op("ConvTranspose", {dy, n.inputs[1]},
                            {ints_attr("strides", strides), ints_attr("dilations", dilations), ints_attr("pads", pads),
                             ints_attr("output_padding", output_padding), int_attr("group", group)});
  }
  if (c.wants[1]) {
    // dW[m,c,k] = sum_n,p dY[n,m,p] X[n,c,p*s + k*d - pad]: a convolution of X^T (channels as
    // batch) with dY^T (batch as input channels) whose stride is the forward dilation and whose
    // dilation is the forward stride; the result may run past the kernel and is sliced back.
    // With groups, X^T is [C/g, g*N, ...] (group-major) and the convolution is grouped too.
    std::vector<int64_t> swap = {1, 0};
    for (size_t i = 0; i < spatial; ++i) swap.push_back(static_cast<int64_t>(2 + i));
    std::string xt;
    if (group == 1) {
      xt = b.op("Transpose", {n.inputs[0]}, {ints_attr("perm", swap)});
    } else {
      std::vector<int64_t> split = {xs[0], group, xs[1] / group}, perm = {2, 1, 0}, merged = {xs[1] / group, group * xs[0]};
      for (size_t i = 0; i < spatial; ++i) {
        split.push_back(xs[2 + i]);
        merged.push_back(xs[2 + i]);
        perm.push_back(static_cast<int64_t>(3 + i));
      }
      xt = b.reshape(b.op("Transpose", {b.reshape(n.inputs[0], split)}, {ints_attr("perm", perm)}), merged);
    }
    const std::string dyt = b.op("Transpose", {dy}, {ints_attr("perm", swap)});
    const std::string full = b.op("Conv", {xt, dyt}, {ints_attr("strides", dilations), ints_attr("dilations", strides), ints_attr("pads", pads),
                                                      int_attr("group", group)});
    std::vector<int64_t> starts(spatial, 0), ends(ws.begin() + 2, ws.end()), axes;
    for (size_t i = 0; i < spatial; ++i) axes.push_back(static_cast<int64_t>(2 + i));
    const std::string cut = b.op("Slice", {full, b.const_i64(starts), b.const_i64(ends), b.const_i64(axes)});
    c.input_grads[1] = b.op("Transpose", {cut}, {ints_attr("perm", swap)});
  }
  if (wants_bias) {
    std::vector<int64_t> axes = {0};
    for (size_t i = 0; i < spatial; ++i) axes.push_back(static_cast<int64_t>(2 + i));
    c.input_grads[2] = b.reduce_sum(dy, axes, false);
  }
}

// training_graph.cpp gives MaxPool a second output (Indices, flat over the whole input tensor);
// the gradient scatters dY onto those positions.
void maxpool_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  if (n.outputs.size() < 2 || n.outputs[1].empty()) unsupported(n, "MaxPool without an Indices output");
  const auto& xs = b.shape(n.inputs[0]);
  int64_t count = 1;
  for (auto d : xs) count *= d;
  const std::string zeros = b.op("ConstantOfShape", {b.const_i64({count})});
  if (b.internal_ops() && n.attr_int("storage_order", 0) == 0) {
    c.input_grads[0] = b.internal_node("MaxPoolGrad", {c.output_grads[0], n.outputs[1]}, {ints_attr("input_shape", xs)}, {true})[0];
    return;
  }
  const std::string flat_indices = b.reshape(n.outputs[1], {-1});
  const std::string flat_dy = b.reshape(c.output_grads[0], {-1});
  const std::string scattered = b.op("ScatterElements", {zeros, flat_indices, flat_dy},
                                     {int_attr("axis", 0), string_attr("reduction", "add")});
  c.input_grads[0] = b.reshape(scattered, xs);
}

// Training-mode BatchNormalization: BatchNormTraining + BatchNormGrad, or (standard ops only)
// lowered to xhat = (x - mean) / std; y = gamma*xhat + beta.
// dx = gamma/std * (dy - mean(dy) - xhat * mean(dy * xhat)), means over all axes but 1.
void batchnorm_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const std::string& dy = c.output_grads[0];
  if (c.saved.count("mean")) {  // lowered to BatchNormTraining: its gradient op
    c.input_grads = b.internal_node("BatchNormGrad", {dy, n.inputs[0], n.inputs[1], c.saved.at("mean"), c.saved.at("var")},
                                    {float_attr("epsilon", n.attr_float("epsilon", 1e-5f))},
                                    {c.wants[0], c.wants[1], c.wants[2]});
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

void reshape_like_input(Builder& b, RuleCall& c) {
  c.input_grads.assign(c.node.inputs.size(), "");
  if (c.wants[0]) c.input_grads[0] = b.reshape(c.output_grads[0], b.shape(c.node.inputs[0]));
}

}  // namespace

void add_nn_rules(std::map<std::string, Rule>& rules) {
  rules["Gemm"] = gemm_rule;
  rules["Conv"] = conv_rule;
  rules["MaxPool"] = maxpool_rule;
  rules["BatchNormalization"] = batchnorm_rule;
  rules["Flatten"] = reshape_like_input;
  rules["Reshape"] = reshape_like_input;
  rules["Squeeze"] = reshape_like_input;
  rules["Unsqueeze"] = reshape_like_input;
}

}  // namespace mhub::autograd
