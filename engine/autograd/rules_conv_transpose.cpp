// Backward rule for ConvTranspose (strides, pads, dilations, group, output_padding; explicit
// pads only, like the Conv rule).
//
// Forward: y[n, o, i*s + k*d - pad] += x[n, c, i] w[c, o', k] (o in c's group, o' = o within it).
//   dx is the plain convolution of dy with the same weights: Conv(dy, w) with the forward's
//      strides, dilations, pads and group (w's layout [C_in, C_out/g, k] is Conv's [M, C/g, k]).
//   dw[c, o', k] = sum_{n,i} x[n, c, i] dy[n, o, i*s + k*d - pad]: a convolution of dy^T
//      (channels as batch, group-major) with x^T (batch as channels) whose stride is the
//      forward dilation and whose dilation is the forward stride; it may run past the kernel
//      and is sliced back.
//   db = dy summed over batch and spatial axes.
#include "engine/autograd/rule_support.h"

namespace mhub::autograd {
namespace {

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

}  // namespace

void add_conv_transpose_rules(std::map<std::string, Rule>& rules) { rules["ConvTranspose"] = conv_transpose_rule; }

}  // namespace mhub::autograd
