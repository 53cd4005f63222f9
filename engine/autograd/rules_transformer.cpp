// Backward rules for transformer building blocks: MatMul (batched, broadcasting), Transpose,
// Split, Softmax, LayerNormalization, ReduceMean.
#include <numeric>

#include "common/error.h"
#include "engine/autograd/rules.h"

namespace mhub::autograd {
namespace {

std::vector<int64_t> swap_last_two(size_t rank) {
  std::vector<int64_t> perm(rank);
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[rank - 1], perm[rank - 2]);
  return perm;
}

int64_t normalise_axis(int64_t axis, size_t rank) { return axis < 0 ? axis + static_cast<int64_t>(rank) : axis; }

void matmul_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const auto& as = b.shape(n.inputs[0]);
  const auto& bs = b.shape(n.inputs[1]);
  if (as.size() < 2 || bs.size() < 2)
    throw Error(ErrorCategory::unsupported, "training: MatMul '" + n.name + "' with a 1-D operand has no backward rule yet");
  const std::string& dy = c.output_grads[0];
  const auto& ys = b.shape(n.outputs[0]);
  c.input_grads.assign(2, "");
  if (c.wants[0]) {
    const std::string bt = b.op("Transpose", {n.inputs[1]}, {ints_attr("perm", swap_last_two(bs.size()))});
    const std::string full = b.op("MatMul", {dy, bt});
    std::vector<int64_t> full_shape(ys.begin(), ys.end() - 1);
    full_shape.push_back(as.back());
    c.input_grads[0] = sum_to(b, full, full_shape, as);
  }
  if (c.wants[1]) {
    const std::string at = b.op("Transpose", {n.inputs[0]}, {ints_attr("perm", swap_last_two(as.size()))});
    const std::string full = b.op("MatMul", {at, dy});
    std::vector<int64_t> full_shape(ys.begin(), ys.end() - 2);
    full_shape.push_back(bs[bs.size() - 2]);
    full_shape.push_back(ys.back());
    c.input_grads[1] = sum_to(b, full, full_shape, bs);
  }
}

void transpose_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  auto perm = n.attr_ints("perm");
  const size_t rank = b.shape(n.inputs[0]).size();
  if (perm.empty())
    for (size_t i = 0; i < rank; ++i) perm.push_back(static_cast<int64_t>(rank - 1 - i));
  std::vector<int64_t> inverse(rank);
  for (size_t i = 0; i < rank; ++i) inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
  c.input_grads[0] = b.op("Transpose", {c.output_grads[0]}, {ints_attr("perm", inverse)});
}

void split_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(n.inputs.size(), "");
  if (!c.wants[0]) return;
  const int64_t axis = normalise_axis(n.attr_int("axis", 0), b.shape(n.inputs[0]).size());
  std::vector<std::string> pieces;
  for (size_t i = 0; i < n.outputs.size(); ++i)
    pieces.push_back(!c.output_grads[i].empty() ? c.output_grads[i] : b.op("ConstantOfShape", {b.const_i64(b.shape(n.outputs[i]))}));
  c.input_grads[0] = b.op("Concat", pieces, {int_attr("axis", axis)});
}

void softmax_rule(Builder& b, RuleCall& c) {  // y * (dy - sum(dy * y))
  const auto& n = c.node;
  c.input_grads.assign(1, "");
  if (!c.wants[0]) return;
  if (b.opset() < 13) throw Error(ErrorCategory::unsupported, "training: Softmax before opset 13 (flattening semantics) has no backward rule");
  const int64_t axis = normalise_axis(n.attr_int("axis", -1), b.shape(n.inputs[0]).size());
  const std::string& y = n.outputs[0];
  const std::string& dy = c.output_grads[0];
  const std::string dot = b.reduce_sum(b.op("Mul", {dy, y}), {axis}, true);
  c.input_grads[0] = b.op("Mul", {y, b.op("Sub", {dy, dot})});
}

// y = xhat * gamma + beta over the axes from `axis` on; xhat recomputed here.
void layernorm_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  const auto& xs = b.shape(n.inputs[0]);
  const int64_t axis = normalise_axis(n.attr_int("axis", -1), xs.size());
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

void reduce_mean_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(n.inputs.size(), "");
  if (!c.wants[0]) return;
  const auto& xs = b.shape(n.inputs[0]);
  std::vector<int64_t> axes = n.attr_ints("axes");
  if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
    const ir::Tensor* given = b.graph().initializer(n.inputs[1]);
    if (!given) throw Error(ErrorCategory::unsupported, "training: ReduceMean '" + n.name + "' with computed axes has no backward rule");
    axes.assign(given->data<int64_t>(), given->data<int64_t>() + given->numel());
  }
  if (axes.empty())
    for (size_t i = 0; i < xs.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  std::vector<int64_t> kept = xs;
  int64_t count = 1;
  for (auto a : axes) {
    const auto i = static_cast<size_t>(normalise_axis(a, xs.size()));
    count *= xs[i];
    kept[i] = 1;
  }
  const std::string shaped = b.reshape(c.output_grads[0], kept);
  const std::string scaled = b.op("Div", {shaped, b.const_f32(static_cast<float>(count))});
  c.input_grads[0] = b.op("Expand", {scaled, b.const_i64(xs)});
}

}  // namespace

void add_transformer_rules(std::map<std::string, Rule>& rules) {
  rules["MatMul"] = matmul_rule;
  rules["Transpose"] = transpose_rule;
  rules["Split"] = split_rule;
  rules["Softmax"] = softmax_rule;
  rules["LayerNormalization"] = layernorm_rule;
  rules["ReduceMean"] = reduce_mean_rule;
}

}  // namespace mhub::autograd
