#include "engine/ops/conv_geometry.h"

#include <algorithm>
#include <string>

#include "engine/ops/shape.h"

namespace mhub::engine::ops {

namespace {
std::vector<int64_t> attr_or(const ir::Node& node, const char* name, size_t rank, int64_t fill) {
  std::vector<int64_t> v = node.attr_ints(name);
  if (v.empty()) v.assign(rank, fill);
  return v;
}

// in, kernel, strides and dilations of `g`; returns the pads attribute (2 * rank values).
std::vector<int64_t> read_common(const ir::Node& node, const std::vector<int64_t>& in, const std::vector<int64_t>& kernel,
                                 ConvGeometry& g) {
  size_t rank = in.size();
  g.in = in;
  g.kernel = kernel;
  g.stride = attr_or(node, "strides", rank, 1);
  g.dilation = attr_or(node, "dilations", rank, 1);
  std::vector<int64_t> pads = attr_or(node, "pads", rank * 2, 0);
  if (kernel.size() != rank || g.stride.size() != rank || g.dilation.size() != rank || pads.size() != rank * 2)
    fail(node, "kernel_shape, strides, dilations or pads do not match the input's spatial rank " +
                  std::to_string(rank));
  return pads;
}
}  // namespace

ConvGeometry conv_geometry(const ir::Node& node, const std::vector<int64_t>& in,
                           const std::vector<int64_t>& kernel, bool ceil_mode) {
  size_t rank = in.size();
  ConvGeometry g;
  std::vector<int64_t> pads = read_common(node, in, kernel, g);
  std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  g.pad_begin.assign(pads.begin(), pads.begin() + rank);
  g.pad_end.assign(pads.begin() + rank, pads.end());
  g.out.resize(rank);
  for (size_t i = 0; i < rank; ++i) {
    if (g.stride[i] < 1 || g.dilation[i] < 1) fail(node, "strides and dilations must be >= 1");
    int64_t ek = (kernel[i] - 1) * g.dilation[i] + 1;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      int64_t out = (in[i] + g.stride[i] - 1) / g.stride[i];
      int64_t total = std::max<int64_t>(0, (out - 1) * g.stride[i] + ek - in[i]);
      int64_t small = total / 2;
      g.pad_begin[i] = auto_pad == "SAME_UPPER" ? small : total - small;
      g.pad_end[i] = total - g.pad_begin[i];
      g.out[i] = out;
      continue;
    }
    if (auto_pad == "VALID") g.pad_begin[i] = g.pad_end[i] = 0;
    int64_t span = in[i] + g.pad_begin[i] + g.pad_end[i] - ek;
    if (span < 0) fail(node, "the kernel is larger than the padded input");
    int64_t out = ceil_mode ? (span + g.stride[i] - 1) / g.stride[i] + 1 : span / g.stride[i] + 1;
    // ceil_mode: the last window must start inside the input or its begin padding.
    if (ceil_mode && (out - 1) * g.stride[i] >= in[i] + g.pad_begin[i]) --out;
    g.out[i] = out;
  }
  return g;
}

ConvTransposeGeometry conv_transpose_geometry(const ir::Node& node, const std::vector<int64_t>& in,
                                              const std::vector<int64_t>& kernel) {
  size_t rank = in.size();
  ConvTransposeGeometry g;
  std::vector<int64_t> pads = read_common(node, in, kernel, g);
  g.output_padding = attr_or(node, "output_padding", rank, 0);
  std::vector<int64_t> out_shape = node.attr_ints("output_shape");
  if (out_shape.size() == rank + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  if (g.output_padding.size() != rank || (!out_shape.empty() && out_shape.size() != rank))
    fail(node, "output_padding or output_shape do not match the input's spatial rank " + std::to_string(rank));
  std::string auto_pad = node.attr_string("auto_pad", "NOTSET");
  g.out.resize(rank);
  g.pad_begin.assign(rank, 0);
  g.pad_end.assign(rank, 0);
  for (size_t i = 0; i < rank; ++i) {
    int64_t full = g.stride[i] * (in[i] - 1) + g.output_padding[i] + (kernel[i] - 1) * g.dilation[i] + 1;
    if (!out_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      g.out[i] = !out_shape.empty() ? out_shape[i] : in[i] * g.stride[i];
      int64_t total = std::max<int64_t>(0, full - g.out[i]);
      if (auto_pad == "SAME_UPPER") {
        g.pad_begin[i] = total / 2;
        g.pad_end[i] = total - g.pad_begin[i];
      } else {
        g.pad_end[i] = total / 2;
        g.pad_begin[i] = total - g.pad_end[i];
      }
    } else {
      if (auto_pad != "VALID") {
        g.pad_begin[i] = pads[i];
        g.pad_end[i] = pads[i + rank];
      }
      g.out[i] = full - g.pad_begin[i] - g.pad_end[i];
    }
    if (g.out[i] < 0 || kernel[i] < 1 || g.stride[i] < 1 || g.dilation[i] < 1)
      fail(node, "ConvTranspose sizes, strides or dilations give no valid output size on spatial axis " + std::to_string(i));
  }
  return g;
}

CausalConvShape causal_conv_shape(const ir::Node& node, const std::vector<int64_t>& input,
                                  const std::vector<int64_t>& weight, const std::vector<int64_t>* bias,
                                  const std::vector<int64_t>* past_state) {
  if (input.size() != 3) fail(node, "input must be 3-D [batch, channels, length]");
  CausalConvShape s;
  s.batch = input[0];
  s.channels = input[1];
  s.length = input[2];
  if (weight.size() != 3 || weight[0] != s.channels || weight[1] != 1 || weight[2] < 1)
    fail(node, "weight must be [channels, 1, kernel] with channels = " + std::to_string(s.channels) + " and kernel >= 1");
  s.kernel = weight[2];
  s.carry = s.kernel - 1;
  if (bias && (bias->size() != 1 || (*bias)[0] != s.channels))
    fail(node, "bias must be [channels] with channels = " + std::to_string(s.channels));
  if (past_state && *past_state != std::vector<int64_t>{s.batch, s.channels, s.carry})
    fail(node, "past_state must be [batch, channels, kernel - 1] = [" + std::to_string(s.batch) + ", " +
                   std::to_string(s.channels) + ", " + std::to_string(s.carry) + "]");
  const std::string activation = node.attr_string("activation", "none");
  if (activation != "none" && activation != "silu" && activation != "swish")
    fail(node, "activation must be none, silu or swish, not '" + activation + "'");
  s.silu = activation != "none";
  return s;
}

}  // namespace mhub::engine::ops
