// Backward rules of the reduce family: ReduceMean, ReduceSum, ReduceMax / ReduceMin (torch.amax tie
// sharing), ReduceSumSquare / L1 / L2 / LogSum / LogSumExp / Prod.
#include "common/error.h"
#include "engine/autograd/rule_support.h"

namespace mhub::autograd {
std::string extremum_grad(Builder& b, const std::string& x, const std::string& y_kept, const std::string& dy_kept,
                          const std::vector<int64_t>& axes) {
  const std::string hit = b.op("Cast", {b.op("Equal", {x, y_kept})}, {int_attr("to", static_cast<int64_t>(ir::DataType::float32))});
  const std::string ties = b.reduce_sum(hit, axes, true);
  return b.op("Mul", {hit, b.op("Div", {dy_kept, ties})});
}

namespace {

struct Kept {
  std::string x, y, dy;          // x; y and dy in kept-dims form
  std::vector<int64_t> axes;     // reduced axes
};

// Fills input_grads with "" and returns false when no gradient is wanted or the node is a no-op
// (noop_with_empty_axes with no axes: dx = dy).
bool prepare(Builder& b, RuleCall& c, Kept& k) {
  const auto& n = c.node;
  c.input_grads.assign(n.inputs.size(), "");
  if (!c.wants[0]) return false;
  bool noop = false;
  const auto kept = reduce_kept_dims(b, n, &noop);
  if (noop) {
    c.input_grads[0] = c.output_grads[0];
    return false;
  }
  k.x = n.inputs[0];
  k.y = b.reshape(n.outputs[0], kept);
  k.dy = b.reshape(c.output_grads[0], kept);
  k.axes = ones_axes(kept);
  return true;
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
    const auto i = static_cast<size_t>(engine::ops::wrap_axis(a, xs.size()));
    count *= xs[i];
    kept[i] = 1;
  }
  const std::string shaped = b.reshape(c.output_grads[0], kept);
  const std::string scaled = b.op("Div", {shaped, b.const_f32(static_cast<float>(count))});
  c.input_grads[0] = b.op("Expand", {scaled, b.const_i64(xs)});
}

void reduce_sum_rule(Builder& b, RuleCall& c) {
  const auto& n = c.node;
  c.input_grads.assign(n.inputs.size(), "");
  if (!c.wants[0]) return;
  const auto& xs = b.shape(n.inputs[0]);
  std::vector<int64_t> axes;
  if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
    const ir::Tensor* given = b.graph().initializer(n.inputs[1]);
    if (!given) throw Error(ErrorCategory::unsupported, "training: ReduceSum '" + n.name + "' with computed axes has no backward rule");
    axes.assign(given->data<int64_t>(), given->data<int64_t>() + given->numel());
  }
  if (axes.empty() && n.attr_int("noop_with_empty_axes", 0)) {
    c.input_grads[0] = c.output_grads[0];
    return;
  }
  std::vector<int64_t> kept = xs;
  if (axes.empty()) kept.assign(xs.size(), 1);
  for (auto a : axes) kept[static_cast<size_t>(engine::ops::wrap_axis(a, xs.size()))] = 1;
  c.input_grads[0] = b.op("Expand", {b.reshape(c.output_grads[0], kept), b.const_i64(xs)});
}

void reduce_extremum_rule(Builder& b, RuleCall& c) {
  Kept k;
  if (prepare(b, c, k)) c.input_grads[0] = extremum_grad(b, k.x, k.y, k.dy, k.axes);
}

void reduce_sum_square_rule(Builder& b, RuleCall& c) {  // dy * 2x
  Kept k;
  if (prepare(b, c, k)) c.input_grads[0] = b.op("Mul", {k.dy, b.op("Mul", {k.x, b.const_f32(2)})});
}

void reduce_l1_rule(Builder& b, RuleCall& c) {  // dy * sign(x)
  Kept k;
  if (prepare(b, c, k)) c.input_grads[0] = b.op("Mul", {k.dy, b.op("Sign", {k.x})});
}

void reduce_l2_rule(Builder& b, RuleCall& c) {  // dy * x / y, 0 where y == 0
  Kept k;
  if (!prepare(b, c, k)) return;
  const std::string zero = b.const_f32(0);
  const std::string is_zero = b.op("Equal", {k.y, zero});
  const std::string safe_y = b.op("Where", {is_zero, b.const_f32(1), k.y});
  const std::string g = b.op("Mul", {b.op("Div", {k.dy, safe_y}), k.x});
  c.input_grads[0] = b.op("Where", {is_zero, zero, g});
}

void reduce_log_sum_rule(Builder& b, RuleCall& c) {  // y = log(sum x): dy / sum x = dy / e^y
  Kept k;
  if (prepare(b, c, k)) c.input_grads[0] = b.op("Expand", {b.op("Div", {k.dy, b.op("Exp", {k.y})}), b.const_i64(b.shape(k.x))});
}

void reduce_log_sum_exp_rule(Builder& b, RuleCall& c) {  // dy * e^(x - y): the softmax over the axes
  Kept k;
  if (prepare(b, c, k)) c.input_grads[0] = b.op("Mul", {k.dy, b.op("Exp", {b.op("Sub", {k.x, k.y})})});
}

void reduce_prod_rule(Builder& b, RuleCall& c) {  // dy * y / x
  Kept k;
  if (prepare(b, c, k)) c.input_grads[0] = b.op("Mul", {k.dy, b.op("Div", {k.y, k.x})});
}

}  // namespace

void add_reduce_rules(std::map<std::string, Rule>& rules) {
  rules["ReduceMean"] = reduce_mean_rule;
  rules["ReduceSum"] = reduce_sum_rule;
  rules["ReduceMax"] = reduce_extremum_rule;
  rules["ReduceMin"] = reduce_extremum_rule;
  rules["ReduceSumSquare"] = reduce_sum_square_rule;
  rules["ReduceL1"] = reduce_l1_rule;
  rules["ReduceL2"] = reduce_l2_rule;
  rules["ReduceLogSum"] = reduce_log_sum_rule;
  rules["ReduceLogSumExp"] = reduce_log_sum_exp_rule;
  rules["ReduceProd"] = reduce_prod_rule;
}

}  // namespace mhub::autograd
