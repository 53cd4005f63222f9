// Backward rules of the pool family: MaxPool (internal MaxPoolGrad or Indices + ScatterElements),
// AveragePool (a ConvTranspose of dy / divisor with a ones kernel, divisors counted at build time
// as the kernel counts them), GlobalAveragePool, GlobalMaxPool.
#include <algorithm>

#include "common/error.h"
#include "engine/autograd/rule_support.h"

namespace mhub::autograd {
namespace {

struct PoolWindow {
  std::vector<int64_t> kernel, strides, dilations, pad_begin, pad_end;
};

// The window geometry of a pooling node, auto_pad resolved as the CPU kernels do.
PoolWindow pool_window(const ir::Node& n, const std::vector<int64_t>& in) {
  const size_t rank = in.size();
  PoolWindow w;
  w.kernel = n.attr_ints("kernel_shape");
  w.strides = n.attr_ints("strides");
  w.dilations = n.attr_ints("dilations");
  auto pads = n.attr_ints("pads");
  if (w.strides.empty()) w.strides.assign(rank, 1);
  if (w.dilations.empty()) w.dilations.assign(rank, 1);
  if (pads.empty()) pads.assign(2 * rank, 0);
  if (w.kernel.size() != rank || w.strides.size() != rank || w.dilations.size() != rank || pads.size() != 2 * rank)
    no_rule(n, "kernel_shape/strides/dilations/pads not matching the input's rank");
  w.pad_begin.assign(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(rank));
  w.pad_end.assign(pads.begin() + static_cast<std::ptrdiff_t>(rank), pads.end());
  const std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
  for (size_t i = 0; i < rank; ++i) {
    const int64_t extent = (w.kernel[i] - 1) * w.dilations[i] + 1;
    if (auto_pad == "VALID") w.pad_begin[i] = w.pad_end[i] = 0;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in[i] + w.strides[i] - 1) / w.strides[i];
      const int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + extent - in[i]);
      w.pad_begin[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      w.pad_end[i] = total - w.pad_begin[i];
    }
  }
  return w;
}

// How many window positions of output index `o` along one axis the divisor counts.
int64_t counted_positions(const PoolWindow& w, size_t axis, int64_t o, int64_t in, bool include_pad) {
  const int64_t low = include_pad ? -w.pad_begin[axis] : 0, high = include_pad ? in + w.pad_end[axis] : in;
  int64_t count = 0;
  for (int64_t k = 0; k < w.kernel[axis]; ++k) {
    const int64_t q = o * w.strides[axis] - w.pad_begin[axis] + k * w.dilations[axis];
    count += q >= low && q < high;
  }
  return count;
}

// training_graph.cpp gives MaxPool a second output (Indices, flat over the whole input tensor);
// the gradient scatters dY onto those positions.
void maxpool_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  if (n.outputs.size() < 2 || n.outputs[1].empty()) no_rule(n, "MaxPool without an Indices output");
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

void average_pool_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  const auto& xs = b.shape(n.inputs[0]);
  const auto& ys = b.shape(n.outputs[0]);
  const std::vector<int64_t> in(xs.begin() + 2, xs.end()), out(ys.begin() + 2, ys.end());
  const size_t rank = in.size();
  PoolWindow w = pool_window(n, in);
  const bool include_pad = n.attr_int("count_include_pad", 0) != 0;

  // 1 / divisor for every output position (the divisor is a product over axes).
  int64_t positions = 1;
  for (auto d : out) positions *= d;
  std::vector<float> scale(static_cast<size_t>(positions));
  std::vector<int64_t> index(rank, 0);
  for (int64_t p = 0; p < positions; ++p) {
    int64_t rest = p, divisor = 1;
    for (size_t d = rank; d-- > 0;) {
      index[d] = rest % out[d];
      rest /= out[d];
    }
    for (size_t d = 0; d < rank; ++d) divisor *= counted_positions(w, d, index[d], in[d], include_pad);
    scale[static_cast<size_t>(p)] = divisor > 0 ? 1.0f / static_cast<float>(divisor) : 0.0f;
  }
  std::vector<int64_t> plane_dims = {xs[0] * xs[1], 1}, scale_dims = {1, 1}, kernel_dims = {1, 1};
  plane_dims.insert(plane_dims.end(), out.begin(), out.end());
  scale_dims.insert(scale_dims.end(), out.begin(), out.end());
  kernel_dims.insert(kernel_dims.end(), w.kernel.begin(), w.kernel.end());
  int64_t kernel_size = 1;
  for (auto k : w.kernel) kernel_size *= k;
  const std::string scaled = b.op("Mul", {b.reshape(c.output_grads[0], plane_dims), const_f32_tensor(b, scale_dims, scale)});
  const std::string ones = const_f32_tensor(b, kernel_dims, std::vector<float>(static_cast<size_t>(kernel_size), 1.0f));

  // The transposed convolution must land exactly on the input's extent: leftover rows at the end
  // (floor mode) come back as output_padding, windows running past it (ceil mode) are cropped.
  std::vector<int64_t> output_padding(rank, 0), pads = w.pad_begin;
  pads.insert(pads.end(), w.pad_end.begin(), w.pad_end.end());
  for (size_t i = 0; i < rank; ++i) {
    const int64_t covered = (out[i] - 1) * w.strides[i] + (w.kernel[i] - 1) * w.dilations[i] + 1 - w.pad_begin[i] - w.pad_end[i];
    if (covered <= in[i]) output_padding[i] = in[i] - covered;
    else pads[rank + i] += covered - in[i];
  }
  const std::string spread = b.op("ConvTranspose", {scaled, ones},
                                  {ints_attr("strides", w.strides), ints_attr("dilations", w.dilations), ints_attr("pads", pads),
                                   ints_attr("output_padding", output_padding)});
  c.input_grads[0] = b.reshape(spread, xs);
}

void global_average_pool_rule(Builder& b, RuleCall& c) {
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  const auto& xs = b.shape(c.node.inputs[0]);
  int64_t area = 1;
  for (size_t i = 2; i < xs.size(); ++i) area *= xs[i];
  const std::string scaled = b.op("Div", {c.output_grads[0], b.const_f32(static_cast<float>(area))});
  c.input_grads[0] = b.op("Expand", {scaled, b.const_i64(xs)});
}

void global_max_pool_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  const auto& xs = b.shape(n.inputs[0]);
  std::vector<int64_t> axes;
  for (size_t i = 2; i < xs.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  c.input_grads[0] = extremum_grad(b, n.inputs[0], n.outputs[0], c.output_grads[0], axes);
}

}  // namespace

void add_pool_rules(std::map<std::string, Rule>& rules) {
  rules["MaxPool"] = maxpool_rule;
  rules["AveragePool"] = average_pool_rule;
  rules["GlobalAveragePool"] = global_average_pool_rule;
  rules["GlobalMaxPool"] = global_max_pool_rule;
}

}  // namespace mhub::autograd
