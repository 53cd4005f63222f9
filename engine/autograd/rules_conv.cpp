// Backward rules of the conv family: Conv (grouped and depthwise too) via the internal
// ConvGradInput / ConvGradWeight, or with standard_ops_only ConvTranspose + a swapped-axes Conv for
// the weights; ConvTranspose (dx is a Conv with the same weights, dw a swapped-axes Conv);
// CausalConvWithState (a depthwise Conv over [past_state | x], in standard ops).
#include "common/error.h"
#include "engine/autograd/rule_support.h"

namespace mhub::autograd {
namespace {

void conv_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const int64_t group = n.attr_int("group", 1);
  if (n.attr_string("auto_pad", "NOTSET") != "NOTSET") no_rule(n, "auto_pad");
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

void conv_transpose_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  if (n.attr_string("auto_pad", "NOTSET") != "NOTSET") no_rule(n, "auto_pad");
  if (!n.attr_ints("output_shape").empty()) no_rule(n, "output_shape (give pads instead)");
  const int64_t group = n.attr_int("group", 1);
  const auto& xs = b.shape(n.inputs[0]);
  const auto& ws = b.shape(n.inputs[1]);
  const auto& ys = b.shape(n.outputs[0]);
  const size_t spatial = xs.size() - 2;
  auto strides = n.attr_ints("strides"), dilations = n.attr_ints("dilations"), pads = n.attr_ints("pads");
  if (strides.empty()) strides.assign(spatial, 1);
  if (dilations.empty()) dilations.assign(spatial, 1);
  if (pads.empty()) pads.assign(2 * spatial, 0);
  std::vector<int64_t> swap = {1, 0}, spatial_axes;
  for (size_t i = 0; i < spatial; ++i) {
    swap.push_back(static_cast<int64_t>(2 + i));
    spatial_axes.push_back(static_cast<int64_t>(2 + i));
  }
  const std::string& dy = c.output_grads[0];
  c.input_grads.assign(n.inputs.size(), "");

  if (c.wants[0]) {
    // The convolution's extent is X + floor(output_padding / stride); cut it to X.
    const std::string full = b.op("Conv", {dy, n.inputs[1]}, {ints_attr("strides", strides), ints_attr("dilations", dilations),
                                                             ints_attr("pads", pads), int_attr("group", group)});
    std::vector<int64_t> starts(spatial, 0), ends(xs.begin() + 2, xs.end());
    c.input_grads[0] = b.op("Slice", {full, b.const_i64(starts), b.const_i64(ends), b.const_i64(spatial_axes)});
  }
  if (c.wants[1]) {
    std::string dyt;
    if (group == 1) {
      dyt = b.op("Transpose", {dy}, {ints_attr("perm", swap)});
    } else {
      std::vector<int64_t> split = {ys[0], group, ys[1] / group}, perm = {2, 1, 0}, merged = {ys[1] / group, group * ys[0]};
      for (size_t i = 0; i < spatial; ++i) {
        split.push_back(ys[2 + i]);
        merged.push_back(ys[2 + i]);
        perm.push_back(static_cast<int64_t>(3 + i));
      }
      dyt = b.reshape(b.op("Transpose", {b.reshape(dy, split)}, {ints_attr("perm", perm)}), merged);
    }
    const std::string xt = b.op("Transpose", {n.inputs[0]}, {ints_attr("perm", swap)});
    const std::string full = b.op("Conv", {dyt, xt}, {ints_attr("strides", dilations), ints_attr("dilations", strides),
                                                      ints_attr("pads", pads), int_attr("group", group)});
    std::vector<int64_t> starts(spatial, 0), ends(ws.begin() + 2, ws.end());
    const std::string cut = b.op("Slice", {full, b.const_i64(starts), b.const_i64(ends), b.const_i64(spatial_axes)});
    c.input_grads[1] = b.op("Transpose", {cut}, {ints_attr("perm", swap)});
  }
  if (n.inputs.size() > 2 && !n.inputs[2].empty() && c.wants[2]) {
    std::vector<int64_t> axes = {0};
    axes.insert(axes.end(), spatial_axes.begin(), spatial_axes.end());
    c.input_grads[2] = b.reduce_sum(dy, axes, false);
  }
}

// CausalConvWithState: the forward is a depthwise Conv (group = channels) of the window
// [past_state | x] along time, plus bias, then SiLU or nothing; present_state is the window's
// last k-1 positions. The window's gradient is a depthwise ConvTranspose of d(pre-activation)
// plus d(present_state) on its last k-1 positions, split into dx and d(past_state); dw is a
// grouped Conv of the window with d(pre-activation) (channels as groups, batch reduced as input
// channels), dbias the sum of d(pre-activation) over batch and time.
void causal_conv_with_state_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const auto& xs = b.shape(n.inputs[0]);
  const auto& ws = b.shape(n.inputs[1]);
  const int64_t batch = xs[0], channels = xs[1], length = xs[2], kernel = ws[2], carry = kernel - 1;
  const bool has_bias = n.inputs.size() > 2 && !n.inputs[2].empty();
  const bool has_past = n.inputs.size() > 3 && !n.inputs[3].empty();
  const std::string& dy = c.output_grads[0];
  const std::string dstate = c.output_grads.size() > 1 && carry > 0 ? c.output_grads[1] : "";
  c.input_grads.assign(n.inputs.size(), "");
  const std::vector<ir::Attribute> depthwise = {int_attr("group", channels)};

  std::string window = n.inputs[0];
  if (carry > 0)
    window = has_past ? b.op("Concat", {n.inputs[3], n.inputs[0]}, {int_attr("axis", 2)})
                      : b.op("Pad", {n.inputs[0], b.const_i64({0, 0, carry, 0, 0, 0})});  // zeros before x
  std::string dpre = dy;
  if (!dy.empty() && n.attr_string("activation", "none") != "none") {
    // silu'(z) = s (1 + z (1 - s)) with s = sigmoid(z), z the recomputed pre-activation.
    std::vector<std::string> conv_inputs = {window, n.inputs[1]};
    if (has_bias) conv_inputs.push_back(n.inputs[2]);
    const std::string z = b.op("Conv", conv_inputs, depthwise);
    const std::string s = b.op("Sigmoid", {z});
    const std::string one = b.const_f32(1.0f);
    const std::string slope = b.op("Mul", {s, b.op("Add", {one, b.op("Mul", {z, b.op("Sub", {one, s})})})});
    dpre = b.op("Mul", {dy, slope});
  }

  const bool wants_window = c.wants[0] || (has_past && c.wants[3]);
  std::string dwindow;
  if (wants_window && !dpre.empty()) dwindow = b.op("ConvTranspose", {dpre, n.inputs[1]}, depthwise);
  if (wants_window && !dstate.empty()) {
    const std::string placed = b.op("Pad", {dstate, b.const_i64({0, 0, length, 0, 0, 0})});
    dwindow = dwindow.empty() ? placed : b.op("Add", {dwindow, placed});
  }
  auto window_part = [&](int64_t begin, int64_t end) {
    return b.op("Slice", {dwindow, b.const_i64({begin}), b.const_i64({end}), b.const_i64({2})});
  };
  if (!dwindow.empty() && c.wants[0]) c.input_grads[0] = carry > 0 ? window_part(carry, carry + length) : dwindow;
  if (!dwindow.empty() && has_past && c.wants[3]) c.input_grads[3] = window_part(0, carry);
  if (!dpre.empty() && c.wants[1]) {
    // dw[c, 0, j] = sum_{b,t} dpre[b, c, t] window[b, c, t + j]: window^T [1, C*N, k-1+L] by
    // dpre^T [C, N, L] in C groups gives [1, C, k].
    const std::string window_t = b.reshape(b.op("Transpose", {window}, {ints_attr("perm", {1, 0, 2})}),
                                           {1, channels * batch, carry + length});
    const std::string dpre_t = b.op("Transpose", {dpre}, {ints_attr("perm", {1, 0, 2})});
    c.input_grads[1] = b.reshape(b.op("Conv", {window_t, dpre_t}, depthwise), {channels, 1, kernel});
  }
  if (!dpre.empty() && has_bias && c.wants[2]) c.input_grads[2] = b.reduce_sum(dpre, {0, 2}, false);
}

}  // namespace

void add_conv_rules(std::map<std::string, Rule>& rules) {
  rules["Conv"] = conv_rule;
  rules["ConvTranspose"] = conv_transpose_rule;
  rules["CausalConvWithState"] = causal_conv_with_state_rule;
}

}  // namespace mhub::autograd
